#!/usr/bin/env bash
# Benchmarks, run by `make bench` on the release build, against a private managed cluster.
# Prints the figures; BENCHMARKS.md records a run. Set BENCH_SCALE100=0 to skip the scale-100 run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/target/release/dentsynth
work=$(mktemp -d /tmp/dentsynth-bench.XXXXXX)
chmod 755 "$work"
home="$work/home"
trap '"$bin" --home "$home" local stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
ds() { "$bin" --home "$home" "$@"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
# Peak resident memory (MB) and wall time of a command: GNU time's "%M %e".
measure() { /usr/bin/time -f "%M %e" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; exit 1; }
            read -r kb secs < "$work/time"; echo "$(( kb / 1024 )) $secs"; }
psql_bin=$(dirname "$(readlink -f "$(command -v pg_ctl || echo /usr/lib/postgresql/15/bin/pg_ctl)")")/psql
[ -x "$psql_bin" ] || psql_bin=psql

echo "# dentsynth benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo
echo "## local cluster"
t0=$(now); ds -q local start >/dev/null; t1=$(now)
echo "- cold start (initdb + start + create database): $(elapsed "$t0" "$t1") s"
ds -q local stop; t0=$(now); ds -q local start >/dev/null; t1=$(now)
echo "- warm start: $(elapsed "$t0" "$t1") s"
admin=$(ds local url --database postgres 2>/dev/null)
createdb() { PGOPTIONS="-c client_min_messages=warning" "$psql_bin" -q "$admin" -c "drop database if exists $1 with (force)" -c "create database $1"; }

echo
echo "## generate (built-in profile, seed 42, as-of 2026-06-30) vs psql \\copy of the same CSV files"
for scale in 1 10; do
  createdb "bench_s$scale"
  url=$(ds local url --database "bench_s$scale" 2>/dev/null)
  read -r mem secs < <(measure "$bin" -q --home "$home" generate --database-url "$url" --scale "$scale" --as-of 2026-06-30)
  rows=$(grep -o 'generated [0-9]* rows' "$work/out" | grep -o '[0-9]*')
  # Baseline: the same data as CSV, loaded by psql (tables, \copy, keys and indexes, analyze).
  "$bin" -q --home "$home" generate --scale "$scale" --as-of 2026-06-30 --no-load --out-dir "$work/csv$scale" >/dev/null
  createdb "bench_base$scale"
  base_url=$(ds local url --database "bench_base$scale" 2>/dev/null)
  t0=$(now); (cd "$work/csv$scale" && "$psql_bin" -q "$base_url" -v ON_ERROR_STOP=1 -f load.sql >/dev/null); t1=$(now)
  base=$(elapsed "$t0" "$t1")
  ratio=$(python3 -c "print(f'{$secs / $base:.2f}')")
  rps=$(python3 -c "print(f'{$rows / $secs:,.0f}')")
  echo "- scale $scale: $rows rows; generate $secs s ($rps rows/s, peak $mem MB); psql \\copy baseline $base s; ratio ${ratio}x"
  rm -rf "$work/csv$scale"
done
# Scale 3 must complete, and the dbt contract must still hold there (zero error findings).
createdb bench_s3
url3=$(ds local url --database bench_s3 2>/dev/null)
read -r mem secs < <(measure "$bin" -q --home "$home" generate --database-url "$url3" --scale 3 --as-of 2026-06-30)
rows=$(grep -o 'generated [0-9]* rows' "$work/out" | grep -o '[0-9]*')
summary=$("$bin" -q --home "$home" verify --database-url "$url3" --as-of 2026-06-30 | tail -1 || true)
echo "- scale 3: $rows rows; generate $secs s (peak $mem MB); verify: $summary"
if [ "${BENCH_SCALE100:-1}" != 0 ]; then
  createdb bench_s100
  url=$(ds local url --database bench_s100 2>/dev/null)
  read -r mem secs < <(measure "$bin" -q --home "$home" generate --database-url "$url" --scale 100 --as-of 2026-06-30)
  rows=$(grep -o 'generated [0-9]* rows' "$work/out" | grep -o '[0-9]*')
  echo "- scale 100: $rows rows; generate $secs s (peak $mem MB)"
fi

echo
echo "## introspect (the 422-table fixture schema filled by generate)"
createdb bench_s025
small=$(ds local url --database bench_s025 2>/dev/null)
"$bin" -q --home "$home" generate --database-url "$small" --scale 0.25 --as-of 2026-06-30 >/dev/null
for db in bench_s025 bench_s1; do
  url=$(ds local url --database "$db" 2>/dev/null)
  rows=$("$psql_bin" -tAq "$url" -c "select sum(row_count) from dentsynth.manifest_table where schema_name = 'raw'")
  read -r mem secs < <(measure "$bin" -q introspect --database-url "$url" --out "$work/profile-$db")
  echo "- $rows rows, 422 tables: $secs s (peak $mem MB)"
done
url=$(ds local url --database bench_s1 2>/dev/null)

if "$bin" verify --help >/dev/null 2>&1; then
  echo
  echo "## verify (all built-in rules, scale-1 demo)"
  t0=$(now); "$bin" -q --home "$home" verify --database-url "$url" --as-of 2026-06-30 >/dev/null || true; t1=$(now)
  echo "- $(elapsed "$t0" "$t1") s"
fi

echo
echo "## fidelity (built-in profile, scale-1 demo)"
t0=$(now); summary=$("$bin" -q --home "$home" fidelity --database-url "$url" | tail -1 || true); t1=$(now)
echo "- $(elapsed "$t0" "$t1") s: $summary"
