#!/bin/bash
# Run every test program of each build dir given (tests/unit/test_*, then
# tests/integration/test_*, which start their own uvfio hosts), count the
# cases from their TAP output, and end with "N passed, N failed, N skipped".
# A program that crashes or exits non-zero without reporting a failing case
# counts as one failed case, so a crash is never lost.
set -u
export CMOCKA_MESSAGE_OUTPUT=TAP
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=second_deadlock_stack=1
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
passed=0; failed=0; skipped=0
logdir=${TEST_LOG_DIR:-test-logs}
mkdir -p "$logdir"
for build in "$@"; do
	for t in "$build"/tests/unit/test_* "$build"/tests/integration/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name=$(basename "$build")/$(basename "$t")
		log="$logdir/${name//\//_}.log"
		timeout 600 "$t" >"$log" 2>&1
		rc=$?
		p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
		s=$(grep -cE '^ok [0-9]+.*# *SKIP' "$log" | tr -d ' ')
		f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
		p=$((p - s))
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1
			echo "FAIL $name: exited with status $rc without a failing case (crash?)"
			tail -20 "$log" | sed 's/^/    /'
		fi
		printf '%-40s %4d passed %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
		if [ "$f" != 0 ]; then
			grep -E '^not ok|^# ' "$log" | head -20 | sed 's/^/    /'
		fi
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
