# Control-plane joins over real components: joins and serial revocation on a real LMDB store
# with real TLS handshakes.
if(TARGET shoal_planner)
  shoal_test(join_test join_test.cc LIBS shoal::planner)
endif()
