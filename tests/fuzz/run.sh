#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs the libFuzzer harnesses built in $FUZZ_BUILD (default build/fuzz) and
# reports in TAP, two lines per target:
#
#   tests/fuzz/run.sh test|fuzz SECONDS TARGET...
#
# 1. replay: every input in tests/fuzz/regressions/TARGET/ and
#    tests/fuzz/corpus/TARGET/ once;
# 2. fuzz: SECONDS of fuzzing from those inputs.
#    test (`make test`): in a scratch corpus, removed afterwards; what crashes
#      is written to $FUZZ_BUILD/crashes/TARGET/.
#    fuzz (`make fuzz`): the corpus grows in $FUZZ_BUILD/corpus/TARGET/ from
#      one run to the next; what crashes is written to
#      tests/fuzz/regressions/TARGET/ (keep it: it is replayed from then on).
cd "$(dirname "$0")/../.." || exit 2
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
mode=$1
seconds=$2
[ "$mode" = test ] || [ "$mode" = fuzz ] || { echo "usage: $0 test|fuzz SECONDS TARGET..." >&2; exit 2; }
shift 2

export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
LIMITS="-rss_limit_mb=2048 -timeout=30"

log=$(mktemp)
scratch=
trap 'rm -f "$log"; [ -z "$scratch" ] || rm -rf "$scratch"' EXIT

n=0
failed=0
echo "1..$(($# * 2))"

report() { # ok?, description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		grep 'Running:' "$log" | tail -1 | sed 's/^/# /' # the input, when replaying
		grep -E 'ERROR|SUMMARY|check failed|^ +#[0-9]|Test unit written|artifact|^[^ ]+:[0-9]+:[0-9]+: runtime error' "$log" |
			head -60 | sed 's/^/# /'
	fi
}

for t in "$@"; do
	bin=$FUZZ_BUILD/fuzz_$t
	if [ ! -x "$bin" ]; then
		report 1 "fuzz_$t: $bin is not built (make fuzz-build)"
		report 1 "fuzz_$t: not run"
		continue
	fi
	opts=
	[ -f "tests/fuzz/$t.dict" ] && opts="-dict=tests/fuzz/$t.dict"
	# HDF5's free lists keep memory between inputs, so libFuzzer would look
	# for leaks after nearly every input (15x slower): LeakSanitizer checks
	# the whole run at its end instead.
	[ "$t" = checkpoint ] && opts="$opts -detect_leaks=0"
	mkdir -p "tests/fuzz/regressions/$t"

	# 1. Replay the kept crashes and the seeds, each once.
	inputs=$(find "tests/fuzz/regressions/$t" "tests/fuzz/corpus/$t" -type f ! -name '*.md' | sort)
	count=$(printf '%s\n' "$inputs" | grep -c .)
	# shellcheck disable=SC2086 # one word per input: the names have no blanks
	timeout -k 10 900 "$bin" $LIMITS $inputs >"$log" 2>&1
	report $? "fuzz_$t: $count regressions and seeds replayed"

	# 2. Fuzz.
	if [ "$mode" = test ]; then
		scratch=$(mktemp -d)
		work=$scratch
		artifacts=$FUZZ_BUILD/crashes/$t
	else
		work=$FUZZ_BUILD/corpus/$t
		artifacts=tests/fuzz/regressions/$t
	fi
	mkdir -p "$work" "$artifacts"
	start=$(date +%s)
	# shellcheck disable=SC2086
	timeout -k 10 $((seconds + 300)) "$bin" $LIMITS $opts -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" \
		>"$log" 2>&1
	rc=$?
	elapsed=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	report $rc "fuzz_$t ($elapsed s, ${runs:-?} runs)"
	if [ -n "$scratch" ]; then
		rm -rf "$scratch"
		scratch=
	fi
done
[ "$failed" -eq 0 ]
