#!/usr/bin/env bash
# `npm test`: installs what the suite needs (Debian packages, npm deps), then typecheck, lint and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "== tsc --noEmit"; npx tsc --noEmit
echo "== eslint"; npx eslint .
echo "== vitest"; npx vitest run "$@"
