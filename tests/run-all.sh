#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs every suite against each build directory given (e.g. build build/asan)
# and ends with one line: "N passed, N failed". Suites speak TAP: "ok ..." and
# "not ok ..." lines; a suite that dies without reporting counts as one failure.
cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_suite() { # name, command...
	name=$1; shift
	"$@" >"$log" 2>&1
	rc=$?
	ok=$(grep -c '^ok ' "$log")
	bad=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	fi
	if [ "$bad" -ne 0 ]; then
		cat "$log"
		echo "FAIL $name: $ok passed, $bad failed (exit $rc)"
	else
		echo "ok   $name: $ok passed"
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
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
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
