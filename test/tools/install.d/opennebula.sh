# shellcheck shell=bash
# Part of test/tools/install.sh: OpenNebula 7.0.0 and 7.4.0 (the oldest and newest supported series) built
# from source by test/tools/opennebula/build.sh into its cache outside the clone
# (${XDG_CACHE_HOME:-$HOME/.cache}/opennebula-kubernetes), for test/docker/oned.test.ts. About 10 minutes
# each on 2 cores when cold, nothing when the cache holds this build script's result.
: "${here:?sourced by test/tools/install.sh}"
opennebula_build_pin() { sha256sum "$here/opennebula/build.sh" | cut -c1-12; }
install_opennebula_build() { bash "$here/opennebula/build.sh" "${1%%-*}" >/dev/null; }
for _one_version in 7.0.0 7.4.0; do
	_one_root=$(bash "$here/opennebula/build.sh" --path "$_one_version")
	install_step "opennebula-$_one_version" "$_one_version-$(opennebula_build_pin)" install_opennebula_build \
		"${_one_root%/root}/done"
done
unset _one_version _one_root
