#!/usr/bin/env bash
# The release pipeline rehearsed on this machine (`npm run main`; see test/rehearsal/main.ts): installs only
# what the rehearsal needs — node_modules when missing or stale, and of the pinned tools helm, trivy, cosign
# and the Trivy database generator (the stand-ins' Debian packages come with them) — then runs it. Arguments
# go to main.ts: --live, --out DIR, --context DIR, --verbose.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
started=$SECONDS

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "[rehearsal] install: npm ci" >&2
	npm ci --no-audit --no-fund >&2
fi

tools_bin=${TOOLS_DIR:-$repo/.tools}/bin
needed=(helm trivy trivy-db cosign)
missing=()
for tool in "${needed[@]}"; do
	[ -x "$tools_bin/$tool" ] || missing+=("$tool")
done
for command in git docker-registry; do
	command -v "$command" >/dev/null || missing+=("$command")
done
if ! command -v buildah >/dev/null && ! command -v podman >/dev/null && ! command -v docker >/dev/null; then
	missing+=(buildah)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if grep -q -- '--only' test/tools/install.sh; then
		# The pinned tools, and the Debian packages of the stand-ins and the builder.
		only=("${needed[@]}" git docker-registry buildah)
		echo "[rehearsal] install: test/tools/install.sh --only ${only[*]} (missing: ${missing[*]})" >&2
		bash test/tools/install.sh --only "${only[@]}" >&2
	else
		echo "[rehearsal] install: test/tools/install.sh (missing: ${missing[*]})" >&2
		bash test/tools/install.sh >&2
	fi
fi
echo "[rehearsal] install: $((SECONDS - started))s" >&2

export PATH="$tools_bin:$PATH"
exec node --import ./test/rehearsal/register.mjs test/rehearsal/main.ts "$@"
