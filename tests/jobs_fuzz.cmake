# The job-file reader's fuzz target (tests/fuzz.cmake defines the helpers; this file sorts
# after it). Its seed corpus replays in the normal run as fuzz_replay_job_file.
shoal_fuzz_replay(job_file SOURCES fuzz/job_file_fuzz.cc LIBS shoal::jobs)
if(SHOAL_FUZZ)
  shoal_fuzz_target(job_file SOURCES fuzz/job_file_fuzz.cc
                    ${PROJECT_SOURCE_DIR}/planner/jobs/job_file.cc
                    ${PROJECT_SOURCE_DIR}/planner/jobs/waves.cc
                    LIBS shoal::core yaml-cpp)
endif()
