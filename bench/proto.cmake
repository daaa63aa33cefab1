# Control-plane message encode/decode (bench/proto_bench.cc); bench/proto_bench.sh runs it and
# writes bench/results/proto.md. node_exec supplies the node's TaskSpec and ParseInterpreter, so
# the task decode fills the same struct the agent does.
add_executable(proto_bench proto_bench.cc)
target_link_libraries(proto_bench PRIVATE shoal::core shoal::node_exec shoal::planner
                      benchmark::benchmark)
