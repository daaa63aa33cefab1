# shoal-node with both planes: swarm fetch and planner tasks in one daemon.
if(TARGET shoal_node_agent)
  shoal_test(node_daemon_test node_daemon_test.cc control_fixture.cc)
  add_dependencies(node_daemon_test shoal-planner shoal-node shoal-seeder shoal-tracker shoal)
endif()
