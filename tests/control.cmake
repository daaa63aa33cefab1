# Control plane: TLS transport and framing (in-process), and planner + node agents + CLI as
# real processes on 127.0.0.1.
if(TARGET shoal_node_agent)
  shoal_test(control_net_test control_net_test.cc LIBS shoal::net)
  shoal_test(control_e2e_test control_e2e_test.cc control_fixture.cc LIBS shoal::net)
  add_dependencies(control_e2e_test shoal-planner shoal-node-agent shoal)
endif()

# The frame and message fuzz targets and their corpus replays: tests/fuzz.cmake.
