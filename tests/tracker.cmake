# Tracker suites: pure parts (parser, swarm, encoders, fuzz corpus replay), the shoal-tracker
# process over HTTP, real libtorrent sessions against it, and the benchmark HTTP origin.
shoal_test(tracker_unit_test tracker_unit_test.cc LIBS shoal::tracker)
target_compile_definitions(tracker_unit_test PRIVATE SHOAL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

shoal_test(tracker_test tracker_test.cc)
# GCC 12 warns on designated initializers that leave defaulted members out (GCC bug 96868).
target_compile_options(tracker_test PRIVATE -Wno-missing-field-initializers)
add_dependencies(tracker_test shoal-tracker)

shoal_test(tracker_libtorrent_test tracker_libtorrent_test.cc)
add_dependencies(tracker_libtorrent_test shoal-tracker)

if(SHOAL_BENCH)
  # shoal_http_origin and shoal-http-origin are defined in bench/http_origin.cmake.
  shoal_test(http_origin_test http_origin_test.cc LIBS shoal_http_origin)
  add_dependencies(http_origin_test shoal-http-origin)
endif()

# libFuzzer target for the request parser (clang only): cmake -DSHOAL_FUZZ=ON
# -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang, then run
# bin/tracker_request_fuzz tests/fuzz/corpus/tracker -max_total_time=60.
# The tracker sources (and the one core file they use) are compiled into the target itself so
# that all of them carry the fuzzer's instrumentation, without building all of core with clang.
if(SHOAL_FUZZ)
  add_executable(tracker_request_fuzz fuzz/tracker_request_fuzz.cc
    ${PROJECT_SOURCE_DIR}/tracker/request.cc
    ${PROJECT_SOURCE_DIR}/tracker/response.cc
    ${PROJECT_SOURCE_DIR}/tracker/service.cc
    ${PROJECT_SOURCE_DIR}/tracker/swarm.cc
    ${PROJECT_SOURCE_DIR}/core/log.cc)
  target_include_directories(tracker_request_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(tracker_request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(tracker_request_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(tracker_request_fuzz PRIVATE
    LibtorrentRasterbar::torrent-rasterbar Boost::boost Threads::Threads)
endif()
