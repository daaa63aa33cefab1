# Run history and retention (issue 13): finished runs read back from the planner's LMDB,
# --keep-runs / --keep-runs-bytes pruning, `shoal run --wait-offline`; real planner, node
# agents and CLI on loopback.
if(TARGET shoal_node_agent)
  shoal_test(retention_test retention_test.cc control_fixture.cc)
  add_dependencies(retention_test shoal-planner shoal-node-agent shoal)
endif()
