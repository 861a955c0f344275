# shellcheck shell=bash
# /etc/one as a product of three inputs: the image's pristine copy of OpenNebula's files, the operator's
# overrides and the environment. Each run builds the whole tree in a scratch directory inside /etc/one,
# then installs the files that differ, each by rename: a daemon reading /etc/one meanwhile sees every file
# either as it was or as it will be, never a pristine or half-edited one, and a run that changes nothing
# writes nothing. An upgrade is the same run: the new version's files, the same overrides.
#
# /etc/one is root's and readable by oneadmin's group, as the packages install it (when the step runs as
# root: `docker run`, `all`); nothing in it is written by the daemons. Run as oneadmin (the chart), the files
# are oneadmin's, the only user there.

ETC_ONE_PRISTINE=/usr/share/opennebula-container/etc-one
# What the last run installed (sha256sum lines): tells the operator's hand edits from the step's own.
ETC_ONE_MANIFEST=.opennebula-container.sha256
# Where files changed by hand are kept when a run replaces them.
ETC_ONE_PREVIOUS=.previous

# lock_etc_one DIR: waits for the other configuration steps on DIR (the chart's containers share it).
lock_etc_one() {
	local timeout=${ONE_CONFIGURE_LOCK_TIMEOUT:-120}
	require_uint ONE_CONFIGURE_LOCK_TIMEOUT "$timeout"
	exec {ETC_ONE_LOCK}<"$1"
	flock -w "$timeout" "$ETC_ONE_LOCK" ||
		one_die "another configuration step held the lock on $1 for ${timeout}s (ONE_CONFIGURE_LOCK_TIMEOUT)"
}

# The files and links of a tree (not the step's own entries), as NUL-separated relative paths.
tree_entries() { # tree_entries DIR
	(cd "$1" && find . -mindepth 1 \( -name '.configure.*' -o -name "$ETC_ONE_PREVIOUS" -o -name "$ETC_ONE_MANIFEST" \) \
		-prune -o \( -type f -o -type l \) -print0) | sed -z 's#^\./##' | sort -z
}

tree_sums() { # tree_sums DIR: sha256sum lines of its regular files, one run of sha256sum; links as "link:TARGET"
	local rel
	(cd "$1" && find . -mindepth 1 \( -name '.configure.*' -o -name "$ETC_ONE_PREVIOUS" -o -name "$ETC_ONE_MANIFEST" \) \
		-prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum | sed 's#  \./#  #')
	while IFS= read -r -d '' rel; do
		if [ -L "$1/$rel" ]; then printf 'link:%s  %s\n' "$(readlink "$1/$rel")" "$rel"; fi
	done < <(tree_entries "$1")
}

# keep_hand_edits ETC PRISTINE: files changed since the last run (or, without its record, differing from
# OpenNebula's) are about to be replaced: say which, and keep a copy of the tree in ETC/.previous.
keep_hand_edits() {
	local etc=$1 pristine=$2 reference changed
	if [ -f "$etc/$ETC_ONE_MANIFEST" ]; then reference=$(<"$etc/$ETC_ONE_MANIFEST"); else reference=$(tree_sums "$pristine"); fi
	changed=$(comm -23 <(tree_sums "$etc" | sort) <(sort <<<"$reference") | sed 's/^[^ ]*  //' | sort -u)
	[ -n "$changed" ] || return 0
	rm -rf "$etc/$ETC_ONE_PREVIOUS.tmp"
	mkdir -m 0750 "$etc/$ETC_ONE_PREVIOUS.tmp"
	copy_tree "$etc" "$etc/$ETC_ONE_PREVIOUS.tmp"
	rm -rf "${etc:?}/$ETC_ONE_PREVIOUS"
	mv "$etc/$ETC_ONE_PREVIOUS.tmp" "$etc/$ETC_ONE_PREVIOUS"
	one_log "warning: changed in /etc/one outside ONE_OVERRIDES_DIR: ${changed//$'\n'/, }; they are rebuilt from OpenNebula $(one_version)'s files with the overrides and the environment (a copy is in /etc/one/$ETC_ONE_PREVIOUS): put the changes in the overrides directory"
}

copy_tree() { # copy_tree FROM TO: FROM's entries (not the step's own), links copied as links
	local rel
	while IFS= read -r -d '' rel; do
		mkdir -p "$2/$(dirname "$rel")"
		cp -P "$1/$rel" "$2/$rel"
	done < <(tree_entries "$1")
}

# build_etc_one ETC: pristine (or, where the image has no pristine copy, ETC itself) → files/ → edits/ →
# environment, in ETC/.configure.XXXXXX; then installed.
build_etc_one() {
	local etc=$1 pristine=$ONE_ROOT$ETC_ONE_PRISTINE base stage
	rm -rf "$etc"/.configure.*
	base=$etc
	if [ -f "$pristine/oned.conf" ] && [ ! -f "$etc/oned.conf" ]; then
		one_log "seeded $etc from $pristine"
	fi
	if [ -f "$pristine/oned.conf" ]; then
		base=$pristine
		keep_hand_edits "$etc" "$pristine"
	fi
	stage=$(mktemp -d "$etc/.configure.XXXXXX")
	ETC_ONE_STAGE=$stage
	trap 'rm -rf "$ETC_ONE_STAGE"' EXIT
	copy_tree "$base" "$stage"
	[ -f "$stage/oned.conf" ] || one_die "$etc/oned.conf not found: is OpenNebula installed under ${ONE_ROOT:-/}?"
	apply_override_files "$stage"
	apply_edits "$stage"
	# shellcheck disable=SC2034 # read by configure.sh's steps (ETC) and by rewrite's messages
	ETC=$stage ETC_STAGE=$stage ETC_TARGET=$etc
	configure_from_environment
	install_tree "$stage" "$etc"
	local sums
	sums=$(tree_sums "$etc") # before write_file's temporary file appears beside the others
	printf '%s\n' "$sums" | write_file "$etc/$ETC_ONE_MANIFEST" 0640
	own_etc_one "$etc/$ETC_ONE_MANIFEST"
	[ "$base" = "$etc" ] || one_log "/etc/one: OpenNebula $(one_version)'s files with ${#OVERRIDE_FILES[@]} file(s) and ${#EDIT_KEY[@]} edit(s) from the overrides"
}

# own_etc_one PATH: root:oneadmin, group-readable, nothing for others (when root may set it; as oneadmin,
# the paths it owns: the chart's emptyDir itself is root's, mode 0777).
own_etc_one() {
	if [ "$(id -u)" -eq 0 ]; then
		chown -h "0:${ONEADMIN_GID:-9869}" "$1"
	elif [ ! -O "$1" ]; then
		return 0
	fi
	chmod u=rwX,g=rX,o= "$1"
}

# install_tree STAGE ETC: ETC becomes STAGE. Directories first, top-down, so that no path root writes
# through is a link oneadmin planted; files not in STAGE are removed; each changed file is renamed in.
install_tree() {
	local stage=$1 etc=$2 rel target
	own_etc_one "$etc"
	while IFS= read -r -d '' rel; do
		target=$etc/$rel
		if [ -L "$target" ] || { [ -e "$target" ] && [ ! -d "$target" ]; }; then rm -f "$target"; fi
		[ -d "$target" ] || mkdir "$target"
		own_etc_one "$target"
	done < <(cd "$stage" && find . -mindepth 1 -type d -print0 | sed -z 's#^\./##')
	while IFS= read -r -d '' rel; do
		[ -e "$stage/$rel" ] || [ -L "$stage/$rel" ] || rm -f "$etc/$rel"
	done < <(tree_entries "$etc")
	# Modes and owners on the new files before they move in; the unchanged ones keep theirs, fixed below.
	(cd "$stage" && find . -mindepth 1 ! -type l -exec chmod u=rwX,g=rX,o= {} + &&
		if [ "$(id -u)" -eq 0 ]; then find . -mindepth 1 -exec chown -h "0:${ONEADMIN_GID:-9869}" {} +; fi)
	# The files that differ (content, or a link's target), each renamed in.
	while IFS= read -r rel; do
		[ -n "$rel" ] || continue
		mv -fT "$stage/$rel" "$etc/$rel"
	done < <(comm -23 <(tree_sums "$stage" | sort) <(tree_sums "$etc" | sort) | sed 's/^[^ ]*  //')
	(cd "$etc" && find . -mindepth 1 -path './.configure.*' -prune -o ! -type l -user "$(id -u)" -print0 | xargs -0 -r chmod u=rwX,g=rX,o=)
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$etc" && find . -mindepth 1 -path './.configure.*' -prune -o \( ! -uid 0 -o ! -gid "${ONEADMIN_GID:-9869}" \) -print0 |
			xargs -0 -r chown -h "0:${ONEADMIN_GID:-9869}")
	fi
}
