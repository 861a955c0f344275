# shellcheck shell=bash
# The operator's own configuration: the overrides directory (ONE_OVERRIDES_DIR, default
# /etc/one-overrides, mounted read-only from ConfigMaps and Secrets), applied on top of the pristine files:
#   files/<path>  replaces /etc/one/<path> whole (copied, never linked)
#   edits/<path>  sets keys of /etc/one/<path>, one `KEY = VALUE` a line (`#` comments, blank lines)
# Template files (oned.conf, monitord.conf, ...): KEY is NAME or VECTOR/NAME, VALUE written as given. YAML
# files (fireedge-server.conf, onegate-server.conf, ...): KEY is a /-separated path of keys as the file
# writes them (:server/:bind), VALUE a YAML scalar. Everything is read and checked before /etc/one changes.

# Filled by read_overrides: the files/ entries (relative paths) and the edits, one record each
# (EDIT_FILE EDIT_LINE EDIT_KEY EDIT_VALUE at the same index), in the order they apply.
OVERRIDE_FILES=()
EDIT_FILE=() EDIT_LINE=() EDIT_KEY=() EDIT_VALUE=()

overrides_dir() { printf '%s' "${ONE_OVERRIDES_DIR:-$ONE_ROOT/etc/one-overrides}"; }

# The regular files under DIR (symlinks followed: Kubernetes projects ConfigMaps through ..data links),
# relative to DIR, sorted; Kubernetes' own ..data and ..timestamp entries are not the operator's.
override_entries() { # override_entries DIR
	[ -d "$1" ] || return 0
	(cd "$1" && find -L . -mindepth 1 -name '..*' -prune -o -type f -print0) | sed -z 's#^\./##' | sort -z
}

read_overrides() {
	local dir rel n line key value i
	dir=$(overrides_dir)
	OVERRIDE_FILES=() EDIT_FILE=() EDIT_LINE=() EDIT_KEY=() EDIT_VALUE=()
	if [ ! -d "$dir" ]; then
		[ -z "${ONE_OVERRIDES_DIR:-}" ] || one_die "ONE_OVERRIDES_DIR: \"$ONE_OVERRIDES_DIR\" is not a directory"
		return 0
	fi
	for rel in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$rel" ] || continue
		case ${rel##*/} in
		files | edits) [ -d "$rel" ] || one_die "ONE_OVERRIDES_DIR: $rel is not a directory" ;;
		*) one_die "ONE_OVERRIDES_DIR: unexpected $rel (only files/ and edits/ are read)" ;;
		esac
	done
	while IFS= read -r -d '' rel; do OVERRIDE_FILES+=("$rel"); done < <(override_entries "$dir/files")
	while IFS= read -r -d '' rel; do
		n=0
		while IFS= read -r line || [ -n "$line" ]; do
			n=$((n + 1))
			[[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
			[[ $line =~ ^[[:space:]]*([^=[:space:]]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]] ||
				one_die "edits/$rel line $n: \"$line\" is not KEY = VALUE"
			key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
			for ((i = 0; i < ${#EDIT_KEY[@]}; i++)); do
				if [ "${EDIT_FILE[i]}" = "$rel" ] && [ "${EDIT_KEY[i]^^}" = "${key^^}" ]; then
					one_die "edits/$rel: $key is set twice (lines ${EDIT_LINE[i]} and $n); keep one"
				fi
			done
			EDIT_FILE+=("$rel") EDIT_LINE+=("$n") EDIT_KEY+=("$key") EDIT_VALUE+=("$value")
		done <"$dir/edits/$rel"
	done < <(override_entries "$dir/edits")
	refuse_environment_keys
}

# The keys the config step writes from the environment, as FILE KEY VARIABLE: an edit of one of them (or of
# the vector holding it, or inside a vector the step writes whole) would be overwritten, so it is refused.
environment_keys() {
	local bind=':host'
	if version_ge "$(one_version)" 7.3.80; then bind=':server/:bind'; fi
	cat <<-EOF
		oned.conf LOG ONE_LOG_LEVEL
		oned.conf DB DB_BACKEND/DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME/DB_CONNECTIONS
		oned.conf HOSTNAME HOSTNAME
		oned.conf ONEGATE_ENDPOINT ONEGATE_ENDPOINT
		monitord.conf LOG ONE_LOG_LEVEL
		monitord.conf DB MONITORD_DB_CONNECTIONS
		monitord.conf NETWORK/MONITOR_ADDRESS MONITOR_ADDRESS
		monitord.conf NETWORK/PORT MONITOR_PORT
		fireedge-server.conf host the image (FireEdge listens on every address)
		fireedge-server.conf one_xmlrpc ONED_ENDPOINT
		fireedge-server.conf oneflow_server ONEFLOW_ENDPOINT
		fireedge-server.conf guacd/host GUACD_HOST
		fireedge-server.conf guacd/port GUACD_PORT
		fireedge-server.conf default_zone/endpoint ONED_ENDPOINT
		oneflow-server.conf :one_xmlrpc ONED_ENDPOINT
		oneflow-server.conf :host ONEFLOW_BIND
		onegate-server.conf :one_xmlrpc ONED_ENDPOINT
		onegate-server.conf :oneflow_server ONEFLOW_ENDPOINT
		onegate-server.conf $bind ONEGATE_BIND
	EOF
}

refuse_environment_keys() {
	local file key variable i edit owned
	while read -r file key variable; do
		for ((i = 0; i < ${#EDIT_KEY[@]}; i++)); do
			[ "${EDIT_FILE[i]}" = "$file" ] || continue
			edit=${EDIT_KEY[i]} owned=$key
			# Template names are case-insensitive (oned reads them so); YAML keys are not.
			if [[ $file == oned.conf || $file == monitord.conf ]]; then edit=${edit^^} owned=${owned^^}; fi
			if [ "$edit" = "$owned" ] || [[ $owned == "$edit/"* ]] || [[ $edit == "$owned/"* ]]; then
				one_die "edits/$file line ${EDIT_LINE[i]}: ${EDIT_KEY[i]} is also set by the environment ($key from ${variable//\// or }); set it in one place only"
			fi
		done
	done < <(environment_keys)
}

# apply_override_files STAGE: copies each files/ entry over its path in the tree being built.
apply_override_files() {
	local stage=$1 dir rel
	dir=$(overrides_dir)
	for rel in "${OVERRIDE_FILES[@]}"; do
		if [ -e "$stage/$rel" ]; then one_log "overrides: files/$rel replaces /etc/one/$rel"; else one_log "overrides: files/$rel adds /etc/one/$rel"; fi
		mkdir -p "$stage/$(dirname "$rel")"
		cp -L "$dir/files/$rel" "$stage/$rel" || one_die "overrides: cannot copy files/$rel"
	done
}

# apply_edits STAGE: every edit, in order, on the tree being built; the first that cannot apply stops it
# all, naming the override's file, line and key.
apply_edits() {
	local stage=$1 i rel key value target syntax where
	for ((i = 0; i < ${#EDIT_KEY[@]}; i++)); do
		rel=${EDIT_FILE[i]} key=${EDIT_KEY[i]} value=${EDIT_VALUE[i]}
		target=$stage/$rel where="edits/$rel line ${EDIT_LINE[i]}: $key"
		[ -f "$target" ] || one_die "$where: /etc/one/$rel does not exist in OpenNebula ${ONE_VERSION:-} (nor in files/)"
		syntax=$(file_syntax "$target") || one_die "$where: cannot tell whether /etc/one/$rel is a template or YAML file"
		if [ "$syntax" = template ]; then
			[[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)?$ ]] ||
				one_die "$where: not a template key (NAME or VECTOR/NAME)"
			template_value_ok "$value" || one_die "$where: $value is not one template value (quote strings: \"...\")"
			if [[ $key == */* ]]; then
				[[ $value != \[* ]] || one_die "$where: a vector attribute takes a single value"
				(set_block_attribute "$target" "${key%%/*}" "${key#*/}" "$value") 2>/dev/null ||
					one_die "$where: /etc/one/$rel of OpenNebula ${ONE_VERSION:-} has no single ${key%%/*} vector with a ${key#*/} attribute"
			else
				(set_template_key "$target" "$key" "$value") 2>/dev/null ||
					one_die "$where: /etc/one/$rel of OpenNebula ${ONE_VERSION:-} has no single $key key (set once, or a commented example)"
			fi
		else
			[[ $key =~ ^[^/]+(/[^/]+)*$ ]] || one_die "$where: not a YAML key path (key/key/...)"
			(yaml_set "$target" "$key" "$value") 2>/dev/null ||
				one_die "$where: /etc/one/$rel of OpenNebula ${ONE_VERSION:-} has no $key key holding a single value"
		fi
		one_log "overrides: edits/$rel sets $key"
	done
}
