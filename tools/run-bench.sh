#!/bin/sh
# Run every benchmark of a build dir; each prints figures next to its floor.
set -e
for b in "$1"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
