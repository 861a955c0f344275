#!/usr/bin/env bash
# The one test command (`npm test`): sets up what is missing (node_modules, pinned tools), then runs every
# test with vitest. Extra arguments go to vitest (e.g. `npm test -- test/unit`).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "[tests] npm ci" >&2
	npm ci --no-audit --no-fund
fi

# A tool that cannot be installed is not fatal here: the tests that need it fail and name it.
if ! bash test/tools/install.sh; then
	echo "[tests] some tools are missing (see above); the tests that need them will fail" >&2
fi

export PATH="$repo/.tools/bin:$PATH"
exec npx --no-install vitest run "$@"
