# node/agent execution side (shoal::node_exec): TaskRunner, Policy, Outbox/TaskJournal, stats.
shoal_test(task_runner_test task_runner_test.cc LIBS shoal::node_exec)
shoal_test(outbox_test outbox_test.cc LIBS shoal::node_exec)
# stats_test also replays the Nagios fuzz corpus through the fuzz target's entry point.
shoal_test(stats_test stats_test.cc fuzz/nagios_fuzz.cc LIBS shoal::node_exec)
target_compile_definitions(stats_test PRIVATE
  SHOAL_NAGIOS_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/nagios")

if(SHOAL_FUZZ)
  # libFuzzer target for the Nagios plugin-output parser; the parser is compiled into the target
  # so that it carries the fuzzer's coverage instrumentation. Run:
  #   bin/nagios_fuzz -max_total_time=60 tests/fuzz/corpus/nagios
  add_executable(nagios_fuzz fuzz/nagios_fuzz.cc ${PROJECT_SOURCE_DIR}/node/agent/nagios.cc)
  target_include_directories(nagios_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(nagios_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(nagios_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
