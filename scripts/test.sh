#!/usr/bin/env bash
# Runs every test, prints the skip list with reasons and a closing count line.
# Exits non-zero when any test fails. Usage: scripts/test.sh [go test packages...]
set -uo pipefail
cd "$(dirname "$0")/.."
pkgs=("$@"); [ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
log=${TEST_LOG:-test-output.log}

# fjord is built and tested without cgo: it must run inside image roots with no
# libc, and the sandbox's in-process watchdog needs Go's all-threads syscalls.
export CGO_ENABLED=0
go build -buildvcs=auto -trimpath -o bin/fjord ./cmd/fjord || exit 1
export FJORD_BIN="$PWD/bin/fjord"

go test -count=1 -p 2 -timeout 30m -v "${pkgs[@]}" >"$log" 2>&1
rc=$?

echo "== packages"
grep -E '^(ok|FAIL|\?|panic:)' "$log" | grep -v 'no test files'
if [ $rc -ne 0 ]; then
  echo "== failures (full log: $log)"
  grep -nE -- '--- FAIL|^panic:|build failed|\[setup failed\]' "$log" | head -50
  echo "== failing output"
  awk '/^=== RUN/{buf=""} {buf=buf"\n"$0} /--- FAIL/{print buf; buf=""}' "$log" | tail -300
fi
echo "== skipped tests (each with the reason logged just before it)"
grep -B1 -E -- '^\s*--- SKIP' "$log" | grep -v -- '^--$' || echo "(none)"
pass=$(grep -cE -- '^\s*--- PASS' "$log")
fail=$(grep -cE -- '^\s*--- FAIL' "$log")
skip=$(grep -cE -- '^\s*--- SKIP' "$log")
if [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "$pass passed, $fail failed, $skip skipped"
exit $rc
