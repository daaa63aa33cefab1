# Control-plane transport and joins over real components: TLS session resumption and the
# handshake gate on loopback sockets; joins and serial revocation on a real LMDB store with
# real TLS handshakes; handshakes on a pool of threads with the planner's revocation list.
if(TARGET shoal_net)
  shoal_test(tls_resume_test tls_resume_test.cc LIBS shoal::net)
endif()
if(TARGET shoal_planner)
  shoal_test(join_test join_test.cc LIBS shoal::planner)
  shoal_test(handshake_pool_test handshake_pool_test.cc LIBS shoal::planner)
endif()
if(TARGET shoal_node_agent AND TARGET shoal-sim)
  shoal_test(control_storm_test control_storm_test.cc control_fixture.cc LIBS shoal::net)
  add_dependencies(control_storm_test shoal-planner shoal-node-agent shoal shoal-sim)
endif()
