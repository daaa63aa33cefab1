# Hosts lost with tasks in flight (issue 13): --lost-after ends their tasks as `lost` so runs
# never hang on a host that does not come back; real planner, node agents and CLI on loopback.
if(TARGET shoal_node_agent)
  shoal_test(lost_tasks_test lost_tasks_test.cc control_fixture.cc)
  add_dependencies(lost_tasks_test shoal-planner shoal-node-agent shoal)
endif()
