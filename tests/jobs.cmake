# Jobs and waves: the job-file reader and wave planning (pure functions, no processes).
shoal_test(job_file_test job_file_test.cc LIBS shoal::jobs)
shoal_test(waves_test waves_test.cc LIBS shoal::jobs)
