# Fan-out bench (bench/fanout.sh): shoal-planner + shoal-sim virtual nodes, a trivial command
# on all of them. `ninja bench_fanout` runs it at 1,000 and 10,000 nodes.
if(TARGET shoal-sim)
  add_custom_target(bench_fanout
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fanout.sh ${PROJECT_BINARY_DIR} 1000 10000
    DEPENDS shoal-planner shoal-sim shoal
    USES_TERMINAL)
endif()
