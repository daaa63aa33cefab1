# Control plane: TLS transport and framing (in-process), and planner + node agents + CLI as
# real processes on 127.0.0.1.
if(TARGET shoal_node_agent)
  shoal_test(control_net_test control_net_test.cc LIBS shoal::net)
  shoal_test(control_e2e_test control_e2e_test.cc control_fixture.cc LIBS shoal::net)
  add_dependencies(control_e2e_test shoal-planner shoal-node-agent shoal)
endif()

# libFuzzer target for the frame/message decoder (clang only): cmake -DSHOAL_FUZZ=ON
# -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang; bin/frame_fuzz tests/fuzz/frame_corpus.
if(SHOAL_FUZZ)
  add_executable(frame_fuzz fuzz/frame_fuzz.cc ${PROJECT_SOURCE_DIR}/core/framing.cc)
  target_include_directories(frame_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(frame_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(frame_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(frame_fuzz PRIVATE shoal::proto)
endif()
