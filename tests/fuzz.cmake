# Fuzzing. Every decoder of untrusted input has a libFuzzer target (tests/fuzz/*_fuzz.cc) and a
# seed corpus in tests/fuzz/corpus/<name>/; `tools/fuzz-all` builds the targets with clang,
# ASan and UBSan and runs each. The corpora also replay in the normal test run: each target's
# entry point is linked into a small GoogleTest (fuzz_replay_<name>) that feeds it every seed.
# (nagios_fuzz's corpus replays in stats_test, tracker_request_fuzz's is defined in tracker.cmake
# and replayed here.)
set(SHOAL_FUZZ_CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus)
set(SHOAL_FUZZ_MESSAGES NodeMessage:node_message PlannerMessage:planner_message
    OutboxMessage:outbox_message CliRequest:cli_request CliReply:cli_reply)

function(shoal_fuzz_replay name)
  cmake_parse_arguments(R "" "" "SOURCES;LIBS;DEFS" ${ARGN})
  shoal_test(fuzz_replay_${name} fuzz/corpus_replay_test.cc ${R_SOURCES} LIBS ${R_LIBS})
  target_compile_definitions(fuzz_replay_${name} PRIVATE
    SHOAL_FUZZ_CORPUS_DIR="${SHOAL_FUZZ_CORPUS}/${name}" ${R_DEFS})
endfunction()

function(shoal_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;LIBS;DEFS" ${ARGN})
  add_executable(${name}_fuzz ${F_SOURCES})
  target_include_directories(${name}_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name}_fuzz PRIVATE ${F_DEFS})
  target_compile_options(${name}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name}_fuzz PRIVATE ${F_LIBS})
endfunction()

# Control frames: a byte stream of frames, every root type read from each.
shoal_fuzz_replay(frame SOURCES fuzz/frame_fuzz.cc LIBS shoal::core)
# Each control-plane message type on its own (one build of message_fuzz.cc per type).
foreach(pair ${SHOAL_FUZZ_MESSAGES})
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 root)
  list(GET pair 1 name)
  shoal_fuzz_replay(${name} SOURCES fuzz/message_fuzz.cc LIBS shoal::core
                    DEFS SHOAL_FUZZ_ROOT=${root})
endforeach()
# A joining node's CSR (the only thing the planner parses from an unauthenticated peer besides
# its frames).
if(TARGET shoal_net)
  shoal_fuzz_replay(csr SOURCES fuzz/csr_fuzz.cc LIBS shoal::net)
endif()
if(TARGET shoal_tracker)
  shoal_fuzz_replay(tracker SOURCES fuzz/tracker_request_fuzz.cc LIBS shoal::tracker)
endif()

if(SHOAL_FUZZ)
  # The decoders' own sources are compiled into each target so that they carry the fuzzer's
  # coverage instrumentation; the libraries under them are linked as built.
  shoal_fuzz_target(frame SOURCES fuzz/frame_fuzz.cc ${PROJECT_SOURCE_DIR}/core/framing.cc
                    LIBS shoal::proto)
  foreach(pair ${SHOAL_FUZZ_MESSAGES})
    string(REPLACE ":" ";" pair ${pair})
    list(GET pair 0 root)
    list(GET pair 1 name)
    shoal_fuzz_target(${name} SOURCES fuzz/message_fuzz.cc ${PROJECT_SOURCE_DIR}/core/framing.cc
                      LIBS shoal::proto DEFS SHOAL_FUZZ_ROOT=${root})
  endforeach()
  shoal_fuzz_target(csr SOURCES fuzz/csr_fuzz.cc ${PROJECT_SOURCE_DIR}/core/net/certs.cc
                    ${PROJECT_SOURCE_DIR}/core/paths.cc LIBS OpenSSL::SSL OpenSSL::Crypto)
endif()
