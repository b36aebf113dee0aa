#!/usr/bin/env bash
# Benchmarks, run by `make bench` on the release build. Figures go to stdout; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/dentsynth
work=$(mktemp -d /tmp/dentsynth-bench.XXXXXX)
chmod 755 "$work"
trap '"$bin" --home "$work/home" local stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

seconds() { python3 -c 'import sys,time; print(f"{time.time():.3f}")'; }

echo "## local cluster"
t0=$(seconds); "$bin" -q --home "$work/home" local start >/dev/null; t1=$(seconds)
echo "cold start (initdb + start + create database): $(python3 -c "print(f'{$t1-$t0:.2f}')") s"
"$bin" -q --home "$work/home" local stop
t0=$(seconds); "$bin" -q --home "$work/home" local start >/dev/null; t1=$(seconds)
echo "warm start: $(python3 -c "print(f'{$t1-$t0:.2f}')") s"
