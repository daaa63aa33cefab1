# Issue 13's proof: CLI clients re-attaching to a restarted planner (reattach_test), and the
# chaos test: planner, tracker, seeder and 8 shoal-node processes running a job over and over
# while a driver SIGKILLs and restarts a random daemon every few seconds (chaos_test; about
# 75 s in CI, SHOAL_CHAOS_SECONDS=N for the long form: bench/chaos.sh).
if(TARGET shoal_node_agent)
  shoal_test(reattach_test reattach_test.cc control_fixture.cc)
  add_dependencies(reattach_test shoal-planner shoal-node-agent shoal)
endif()

# Not shoal_test(): the chaos test carries labels (ctest -L chaos runs it alone).
if(TARGET shoal_node_agent)
  add_executable(chaos_test chaos_test.cc control_fixture.cc)
  target_link_libraries(chaos_test PRIVATE shoal_test_support)
  gtest_discover_tests(chaos_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS "chaos")
  add_dependencies(chaos_test shoal-planner shoal-node shoal-seeder shoal-tracker shoal)
endif()
