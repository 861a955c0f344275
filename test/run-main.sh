#!/usr/bin/env bash
# The main job, run locally (`npm run main`): asks the real OpenNebula repository and registries whether a
# new Community release is to be built, exactly as the scheduled pipeline's first job does, and prints the
# outputs and the job summary. Needs network access. Settings come from the environment:
#   IMAGE           images to look up (default docker.io/pablodelarco/opennebula)
#   REPOSITORY_URL  OpenNebula apt repository (default: the action's repository-url default)
#   SERIES, VERSION, MIN_VERSION, ARCHITECTURES, FORCE   as the action's inputs
#   GITHUB_TOKEN    optional, for release dates in the summary
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

repository_url=${REPOSITORY_URL:-$(node -e '
  const { parse } = require("yaml");
  const action = parse(require("fs").readFileSync("actions/detect-opennebula-release/action.yml", "utf8"));
  console.log(action.inputs["repository-url"].default);
')}
if ! node -e '
  fetch(process.argv[1], { method: "HEAD", signal: AbortSignal.timeout(10000) })
    .then(() => process.exit(0))
    .catch((error) => { console.error(String(error.cause?.message ?? error.message)); process.exit(1); });
' "$repository_url/"; then
	echo "error: cannot reach $repository_url/ — this command asks the real OpenNebula repository and needs" >&2
	echo "network access to it (and to the image registries). Tests run offline: npm test" >&2
	exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/output"
: >"$work/summary"

# Only what the environment sets is passed: every default is the action's own (action.yml and its code).
inputs=("INPUT_REPOSITORY-URL=$repository_url" "INPUT_IMAGE=${IMAGE:-docker.io/pablodelarco/opennebula}")
for pair in SERIES:series VERSION:version MIN_VERSION:min-version ARCHITECTURES:architectures FORCE:force \
	GITHUB_TOKEN:github-token; do
	variable=${pair%%:*}
	input=${pair#*:}
	if [ -n "${!variable:-}" ]; then inputs+=("INPUT_${input^^}=${!variable}"); fi
done

status=0
env "${inputs[@]}" \
	GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" \
	node actions/detect-opennebula-release/dist/index.js || status=$?

echo
echo "== outputs"
# GITHUB_OUTPUT holds `name<<DELIMITER` blocks; print them as `name: value` (lines joined by ", ").
awk '
	delimiter == "" && /<</ { split($0, part, "<<"); name = part[1]; delimiter = part[2]; value = ""; next }
	delimiter != "" && $0 == delimiter { print name ": " value; delimiter = ""; next }
	delimiter != "" { value = (value == "" ? $0 : value ", " $0) }
' "$work/output"
echo "== job summary (HTML)"
cat "$work/summary"
exit "$status"
