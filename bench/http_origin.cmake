# shoal-http-origin: the central-push baseline (static files, one shared upload token bucket).
# The library holds everything but main, so tests/tracker.cmake can unit-test the bucket.
add_library(shoal_http_origin STATIC ${CMAKE_CURRENT_LIST_DIR}/http_origin.cc)
target_link_libraries(shoal_http_origin PUBLIC shoal::core)
add_executable(shoal-http-origin ${CMAKE_CURRENT_LIST_DIR}/http_origin_main.cc)
target_link_libraries(shoal-http-origin PRIVATE shoal_http_origin CLI11::CLI11)
