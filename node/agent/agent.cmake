# shoal_node_agent: the node's control side (planner connection, join, outbox delivery, stats
# reporting) over shoal::node_exec. shoal-node hosts it with --planner; shoal-node-agent runs
# it alone (tests, and nodes that only take commands).
add_library(shoal_node_agent STATIC
  ${CMAKE_CURRENT_LIST_DIR}/agent_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/agent_identity.cc
  ${CMAKE_CURRENT_LIST_DIR}/planner_agent.cc
)
add_library(shoal::node_agent ALIAS shoal_node_agent)
target_link_libraries(shoal_node_agent PUBLIC shoal::node_exec shoal::net)

add_executable(shoal-node-agent ${CMAKE_CURRENT_LIST_DIR}/agent_main.cc)
target_link_libraries(shoal-node-agent PRIVATE shoal::node_agent CLI11::CLI11)
target_compile_options(shoal_node_agent PRIVATE -Wno-mismatched-new-delete)  # GCC 12 false positive on asio coroutine frames
