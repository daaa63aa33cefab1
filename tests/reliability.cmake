# Reliability suites (issue 13): start-up validation of the daemons, ...
shoal_test(startup_test startup_test.cc)
add_dependencies(startup_test shoal-tracker shoal-seeder shoal-node)
shoal_test(task_cgroup_test task_cgroup_test.cc LIBS shoal::node_exec)
shoal_test(cache_test cache_test.cc LIBS shoal::node)
add_dependencies(cache_test shoal-tracker shoal-seeder shoal-node shoal)
