#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every suite against each build directory given (e.g. build build/asan)
# and ends with one line: "N passed, N failed, N skipped". Suites speak TAP:
# "ok ..." and "not ok ..." lines, "# SKIP" marking a skipped test (counted as
# skipped, never as passed); a suite that dies without reporting counts as one
# failure.
cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() { # name, command...
	name=$1; shift
	"$@" >"$log" 2>&1
	rc=$?
	ok=$(grep -c '^ok ' "$log")
	skip=$(grep -c '^\(not \)\?ok .*# SKIP' "$log")
	bad=$(($(grep -c '^not ok ' "$log") - $(grep -c '^not ok .*# SKIP' "$log")))
	ok=$((ok - $(grep -c '^ok .*# SKIP' "$log")))
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	fi
	if [ "$bad" -ne 0 ]; then
		cat "$log"
		echo "FAIL $name: $ok passed, $bad failed (exit $rc)"
	else
		if [ "$skip" -gt 0 ]; then echo "ok   $name: $ok passed, $skip skipped"; else echo "ok   $name: $ok passed"; fi
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	skipped=$((skipped + skip))
}

for build in "$@"; do
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP run_suite "$t" "$t"
	done
	for t in tests/integration/test_*.py; do
		[ -f "$t" ] || continue
		STEERD_BUILD=$build run_suite "$t ($build)" "$PYTHON" "$t"
	done
	# MPI suites: mpirun with 2 and 3 ranks (the MPI build, $build/mpi/)
	for t in tests/mpi/test_*.py; do
		[ -f "$t" ] || continue
		STEERD_BUILD=$build run_suite "$t ($build)" "$PYTHON" "$t"
	done
done
# The libFuzzer harnesses (tests/fuzz/, built by `make fuzz-build`), once: a
# replay of their regressions and seeds, then FUZZ_TEST_SECONDS of fuzzing each.
for t in tests/fuzz/fuzz_*.c; do
	t=${t#tests/fuzz/fuzz_}
	t=${t%.c}
	[ -x "${FUZZ_BUILD:-build/fuzz}/fuzz_$t" ] || continue
	run_suite "fuzz_$t" tests/fuzz/run.sh test "${FUZZ_TEST_SECONDS:-20}" "$t"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
