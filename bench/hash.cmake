# Ingest hashing throughput (bench/hash_bench.cc); bench/hash_vs_coreutils.sh compares it with
# sha256sum and md5sum and writes bench/results/hash.md.
add_executable(hash_bench hash_bench.cc)
target_link_libraries(hash_bench PRIVATE shoal::core benchmark::benchmark)
