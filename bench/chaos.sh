#!/usr/bin/env bash
# The chaos test's long form: tests/chaos_test.cc (planner, tracker, seeder and 8 shoal-node
# processes on loopback running a job over and over while a random daemon is SIGKILLed and
# restarted every 2-4 s) for SECONDS of chaos instead of CI's 75. It prints the kills, the runs
# and what was checked; the gtest result says whether anything was lost.
#   bench/chaos.sh [BUILD_DIR] [SECONDS] [SEED]      default: build 600 random
# SHOAL_CHAOS_LOG=FILE keeps the test's whole output. Do not rebuild the daemons while it runs.
set -euo pipefail
build=${1:-build}
export SHOAL_CHAOS_SECONDS=${2:-600}
[[ -n ${3:-} ]] && export SHOAL_CHAOS_SEED=$3
start=$(date +%s)
status=0
"$build/bin/chaos_test" --gtest_color=no 2>&1 | tee "${SHOAL_CHAOS_LOG:-/dev/null}" | grep -E '^chaos:|^\[ +(OK|FAILED|PASSED) +\]|Failure|error|Expected|Which is|run [0-9]+' \
  || status=$?
echo "chaos: wall time $(( $(date +%s) - start )) s"
exit "$status"
