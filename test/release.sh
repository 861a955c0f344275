#!/usr/bin/env bash
# Releases the actions and reusable workflows: `npm run release -- X.Y.Z [--push]`.
#
# Refuses (non-zero exit, nothing tagged) unless: X.Y.Z is a version above every existing vX.Y.Z tag, the work
# tree is clean (the tag must name exactly what was tested), the tests pass (RELEASE_TEST_COMMAND, default
# `npm test`), and every actions/*/dist is byte for byte what its sources build to. Then it writes a release
# commit on top of HEAD whose only change is in .github/workflows/: every `uses: ./actions/NAME` becomes
# `uses: OWNER/REPO/actions/NAME@<HEAD's full SHA>`, so a repository that calls the reusable workflows at the
# tag runs the actions of exactly this release (a `./` path would name the caller's workspace, which has no
# actions/). OWNER/REPO is RELEASE_REPOSITORY, else the GitHub repository of the origin remote. It refuses if
# any `./actions/` is left. It creates the annotated tag vX.Y.Z on that commit and moves the major tag vX to
# it (what `uses: ...@v1` resolves to). With --push it pushes both to RELEASE_REMOTE (default origin), which
# pushes the tested commit too (the release commit's parent); otherwise it prints the push commands.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

die() {
	echo "release: $*" >&2
	exit 1
}

version=${1:-}
push=false
case "${2:-}" in
'') ;;
--push) push=true ;;
*) die "unknown argument \"$2\" (usage: npm run release -- X.Y.Z [--push])" ;;
esac
if ! [[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]]; then
	die "version: \"${version}\" is not X.Y.Z (usage: npm run release -- 1.2.3 [--push])"
fi
tag="v${version}"
major="v${BASH_REMATCH[1]}"

repository=${RELEASE_REPOSITORY:-}
if [ -z "${repository}" ]; then
	origin=$(git remote get-url origin 2>/dev/null || true)
	if [[ ${origin} =~ github\.com[:/]+([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/?$ ]]; then
		repository=${BASH_REMATCH[1]%.git}
	fi
fi
if ! [[ ${repository} =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
	die "RELEASE_REPOSITORY: \"${repository}\" is not owner/name, and the origin remote is not a GitHub repository: set RELEASE_REPOSITORY (the tag's workflows name their actions as owner/name/actions/NAME@sha)"
fi

if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
	git status --short >&2
	die "the work tree has uncommitted or untracked changes: the tag would not name what was tested"
fi
if git rev-parse -q --verify "refs/tags/${tag}" >/dev/null; then
	die "tag ${tag} exists already (released versions are immutable)"
fi
highest=$(git tag --list 'v*.*.*' --sort=-version:refname | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | head -n 1 || true)
if [ -n "${highest}" ]; then
	newest=$(printf '%s\n%s\n' "${highest#v}" "${version}" | sort -V | tail -n 1)
	if [ "${newest}" != "${version}" ]; then
		die "version: ${version} is not above the latest release ${highest}"
	fi
fi

echo "release: running the tests (${RELEASE_TEST_COMMAND:-npm test})" >&2
if ! bash -c "${RELEASE_TEST_COMMAND:-npm test}"; then
	die "the tests failed: nothing tagged"
fi

echo "release: checking that every actions/*/dist is what its sources build to" >&2
built=$(mktemp -d)
trap 'rm -rf "${built}"' EXIT
node test/build-actions.mjs --out "${built}" >/dev/null
stale=()
for fresh in "${built}"/*/dist; do
	name=$(basename "$(dirname "${fresh}")")
	if ! diff -r -q "${fresh}" "actions/${name}/dist" >/dev/null 2>&1; then
		stale+=("actions/${name}/dist")
	fi
done
if [ "${#stale[@]}" -gt 0 ]; then
	die "stale bundles: ${stale[*]} (run npm run build and commit): nothing tagged"
fi

tested=$(git rev-parse HEAD)
# The release commit: HEAD's tree with ./actions/NAME in every workflow rewritten, written through a scratch
# index (the work tree and the real index are not touched).
index="${built}/release-index"
GIT_INDEX_FILE="${index}" git read-tree "${tested}"
while IFS= read -r file; do
	blob=$(git show "${tested}:${file}" |
		sed -E "s#^([[:space:]]*(-[[:space:]]+)?uses:[[:space:]]*)\./actions/([A-Za-z0-9_.-]+)/?([[:space:]]|\$)#\1${repository}/actions/\3@${tested}\4#" |
		git hash-object -w --stdin)
	GIT_INDEX_FILE="${index}" git update-index --cacheinfo "100644,${blob},${file}"
done < <(git ls-tree -r --name-only "${tested}" -- .github/workflows/ | grep -E '\.ya?ml$')
tree=$(GIT_INDEX_FILE="${index}" git write-tree)
if left=$(git grep -n -E 'uses:[[:space:]]*\./actions/' "${tree}" -- .github/workflows/); then
	echo "${left}" >&2
	die "the release commit still runs ./actions/ (the caller's workspace): nothing tagged"
fi
commit=$(git commit-tree "${tree}" -p "${tested}" -m "Release ${tag}: the workflows run ${repository}/actions/*@${tested}")
git tag --annotate --message "Release ${tag}" "${tag}" "${commit}"
git tag --force --annotate --message "Release ${tag} (moves with every ${major}.x release)" "${major}" "${commit}"
echo "release: tagged ${tag} and moved ${major} to ${commit} (actions pinned to ${repository}@${tested})" >&2

remote=${RELEASE_REMOTE:-origin}
if [ "${push}" = true ]; then
	git push "${remote}" "refs/tags/${tag}"
	git push --force "${remote}" "refs/tags/${major}"
else
	echo "push them with: git push ${remote} refs/tags/${tag} && git push --force ${remote} refs/tags/${major}"
fi
