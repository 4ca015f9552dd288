#!/usr/bin/env bash
# `npm test`: installs what the suite needs (Debian packages, npm deps), then typecheck, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# The type check and the linter are one core each: side by side on two cores, their output printed in order.
checks=$(mktemp -d)
npx tsc --noEmit > "$checks/tsc" 2>&1 & tsc_pid=$!
npx eslint . > "$checks/eslint" 2>&1 & eslint_pid=$!
tsc_status=0; wait $tsc_pid || tsc_status=$?
eslint_status=0; wait $eslint_pid || eslint_status=$?
echo "== tsc --noEmit"; cat "$checks/tsc"
echo "== eslint"; cat "$checks/eslint"
rm -rf "$checks"
if [ $tsc_status -ne 0 ] || [ $eslint_status -ne 0 ]; then
  echo "== FAILED: tsc exited $tsc_status, eslint $eslint_status"; exit 1
fi
echo "== vitest"
report=$(mktemp)
# test/global-setup.ts writes here the processes the tests left running (and kills them); empty means none.
leaks=$(mktemp)
status=0
DROPSHIP_LEAK_REPORT="$leaks" npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line that any CI reader understands, whatever vitest printed above it.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$report" || true
if [ -s "$leaks" ]; then
  echo "== FAILED: leaked processes"; cat "$leaks"
  status=1
else
  echo "leaked processes: none"
fi
rm -f "$report" "$leaks"
exit $status
