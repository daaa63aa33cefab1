# Reconnect storms (bench/storm.sh): TLS handshake cost, full against resumed
# (tls_handshake_bench), and shoal-sim fleets re-registering after a planner SIGKILL.
add_executable(tls_handshake_bench tls_handshake_bench.cc)
target_link_libraries(tls_handshake_bench PRIVATE shoal::net)
