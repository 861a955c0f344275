# shellcheck shell=bash
# shellcheck disable=SC2016 # the awk programs given to rewrite() are single-quoted on purpose
# The config step: turns the environment into edits of OpenNebula's own configuration files under
# $ONE_ROOT/etc/one. Each edit replaces one key or block in place, so comments and every other setting of
# the packaged file stay as upstream wrote them, and running it twice gives the same files.

# --- editing primitives ------------------------------------------------------------------------------

# rewrite FILE FAILURE AWK_ARGUMENTS...: runs awk over FILE and replaces FILE with its output by rename
# (same mode and owner; a concurrent reader never sees a truncated file); when awk exits non-zero, FILE
# is left as it was and FAILURE reported.
rewrite() {
	local file=$1 failure=$2 tmp
	shift 2
	tmp=$(mktemp "$file.XXXXXX")
	if ! awk "$@" "$file" >"$tmp"; then
		rm -f "$tmp"
		one_die "$failure"
	fi
	replace_file "$tmp" "$file"
}

# set_template_block FILE NAME CONTENT: replaces the top-level `NAME = [ ... ]` block of an OpenNebula
# template file (oned.conf, monitord.conf) with CONTENT; appends it when the file has none.
set_template_block() {
	local file=$1 name=$2 content=$3
	rewrite "$file" "$file: cannot set $name" -v name="$name" -v content="$content" '
		BEGIN { re = "^" name "[ \t]*=[ \t]*\\[" }
		!done && !inside && $0 ~ re { inside = 1 }
		inside {
			if (index($0, "]")) { print content; inside = 0; done = 1 }
			next
		}
		{ print }
		END { if (!done) print "\n" content }
	'
}

# set_template_value FILE KEY VALUE: sets a top-level `KEY = VALUE` line, uncommenting the packaged
# example (`# KEY = ...`) when there is one, so the setting stays next to its documentation.
set_template_value() {
	local file=$1 key=$2 value=$3
	rewrite "$file" "$file: cannot set $key" -v key="$key" -v value="$value" '
		BEGIN { set = "^" key "[ \t]*="; example = "^#[ \t]*" key "[ \t]*=" }
		$0 ~ set { if (!found) { lines[++n] = key " = " value; found = 1 }; next }
		{ lines[++n] = $0; if (!example_at && $0 ~ example) example_at = n }
		END {
			if (!found && example_at) lines[example_at] = key " = " value
			for (i = 1; i <= n; i++) print lines[i]
			if (!found && !example_at) print key " = " value
		}
	'
}

# unset_template_value FILE KEY: comments out a top-level `KEY = ...` line (back to the packaged default).
unset_template_value() {
	local file=$1 key=$2
	rewrite "$file" "$file: cannot unset $key" -v key="$key" '$0 ~ "^" key "[ \t]*=" { $0 = "# " $0 } { print }'
}

# set_block_attribute FILE BLOCK ATTRIBUTE VALUE: sets `ATTRIBUTE = VALUE` inside the top-level
# `BLOCK = [ ... ]` (case-insensitive names, as oned reads them); fails if the block lacks it.
set_block_attribute() {
	local file=$1 block=$2 attribute=$3 value=$4
	rewrite "$file" "$file: block $block has no $attribute attribute to set" \
		-v block="$block" -v attribute="$attribute" -v value="$value" '
		BEGIN { start = "^" toupper(block) "[ \t]*=[ \t]*\\[" }
		!inside && toupper($0) ~ start { inside = 1 }
		inside && !done {
			line = $0
			if (match(toupper(line), "(^|[[ \t,])" toupper(attribute) "[ \t]*=[ \t]*(\"[^\"]*\"|[^], \t]*)")) {
				prefix = substr(line, 1, RSTART - 1); rest = substr(line, RSTART + RLENGTH)
				lead = substr(line, RSTART, RLENGTH); sub(/=.*/, "", lead)
				$0 = prefix lead "= " value rest; done = 1
			}
		}
		inside && index($0, "]") { inside = 0 }
		{ print }
		END { exit done ? 0 : 1 }
	'
}

# yaml_set FILE KEY VALUE [PARENT]: sets `KEY: VALUE` at the top level, or under the top-level PARENT
# mapping (indented two spaces), in a YAML file OpenNebula ships; fails if the key is not there.
yaml_set() {
	local file=$1 key=$2 value=$3 parent=${4:-}
	rewrite "$file" "$file: no ${parent:+$parent/}$key key to set" -v key="$key" -v value="$value" -v parent="$parent" '
		function is_key(line, k) { return index(line, k ":") == 1 && (length(line) == length(k) + 1 || substr(line, length(k) + 2, 1) ~ /[ \t]/) }
		parent == "" && !done && is_key($0, key) { print key ": " value; done = 1; next }
		parent != "" && is_key($0, parent) { inside = 1; print; next }
		parent != "" && inside && $0 ~ /^[^ \t#]/ { inside = 0 }
		parent != "" && inside && !done && is_key(substr($0, 3), key) && substr($0, 1, 2) == "  " {
			print "  " key ": " value; done = 1; next
		}
		{ print }
		END { exit done ? 0 : 1 }
	'
}

# set_managed_section FILE NAME CONTENT: keeps CONTENT between marker comments at the end of FILE;
# empty CONTENT removes the section.
set_managed_section() {
	local file=$1 name=$2 content=$3
	local begin="# BEGIN opennebula-container: $name" end="# END opennebula-container: $name"
	rewrite "$file" "$file: cannot edit the $name section" -v begin="$begin" -v end="$end" -v content="$content" '
		$0 == begin { skip = 1 }
		!skip { print }
		$0 == end { skip = 0 }
		END { if (content != "") print begin "\n" content "\n" end }
	'
}

yaml_quote() { # single-quoted YAML scalar
	printf "'%s'" "${1//\'/\'\'}"
}

# --- settings ----------------------------------------------------------------------------------------

# Reads and validates every setting the config step uses. Errors name the variable.
load_settings() {
	DB_BACKEND=${DB_BACKEND:-sqlite}
	case $DB_BACKEND in
	sqlite | mysql) ;;
	*) one_die "DB_BACKEND: \"$DB_BACKEND\" is not a database backend (sqlite or mysql)" ;;
	esac
	file_env DB_PASSWORD
	if [ "$DB_BACKEND" = mysql ]; then
		[ -n "${DB_HOST:-}" ] || one_die "DB_HOST is required when DB_BACKEND=mysql"
		[ -n "$DB_PASSWORD" ] || one_die "DB_PASSWORD (or DB_PASSWORD_FILE) is required when DB_BACKEND=mysql"
		require_host DB_HOST "$DB_HOST"
		DB_PORT=${DB_PORT:-3306}
		require_port DB_PORT "$DB_PORT"
		DB_NAME=${DB_NAME:-opennebula}
		DB_USER=${DB_USER:-oneadmin}
		[[ $DB_NAME =~ ^[A-Za-z0-9_$]+$ ]] || one_die "DB_NAME: \"$DB_NAME\" is not a database name"
		require_template_string DB_USER "$DB_USER"
		require_template_string DB_PASSWORD "$DB_PASSWORD"
	fi
	DB_CONNECTIONS=${DB_CONNECTIONS:-25}
	require_uint DB_CONNECTIONS "$DB_CONNECTIONS"
	MONITORD_DB_CONNECTIONS=${MONITORD_DB_CONNECTIONS:-15}
	require_uint MONITORD_DB_CONNECTIONS "$MONITORD_DB_CONNECTIONS"

	ONE_LOG_LEVEL=${ONE_LOG_LEVEL:-3}
	[[ $ONE_LOG_LEVEL =~ ^[0-3]$ ]] || one_die "ONE_LOG_LEVEL: \"$ONE_LOG_LEVEL\" is not a log level (0-3)"

	ONE_HOSTNAME=${ONE_HOSTNAME:-${HOSTNAME:-}}
	[ -z "$ONE_HOSTNAME" ] || require_host HOSTNAME "$ONE_HOSTNAME"
	# Where this container reaches the front-end's own sshd when the drivers SSH to HOSTNAME (the chart:
	# the pod's loopback, as HOSTNAME is the hypervisors' address in front of the pod).
	FRONTEND_SSH_ADDRESS=${FRONTEND_SSH_ADDRESS:-}
	[ -z "$FRONTEND_SSH_ADDRESS" ] || require_host FRONTEND_SSH_ADDRESS "$FRONTEND_SSH_ADDRESS"

	MONITOR_ADDRESS=${MONITOR_ADDRESS:-auto}
	[ "$MONITOR_ADDRESS" = auto ] || require_host MONITOR_ADDRESS "$MONITOR_ADDRESS"
	MONITOR_PORT=${MONITOR_PORT:-4124}
	require_port MONITOR_PORT "$MONITOR_PORT"

	ONEGATE_ENDPOINT=${ONEGATE_ENDPOINT:-}
	[ -z "$ONEGATE_ENDPOINT" ] || require_url ONEGATE_ENDPOINT "$ONEGATE_ENDPOINT"

	TPROXY_REMOTE_ADDR=${TPROXY_REMOTE_ADDR:-}
	TPROXY_REMOTE_PORT=${TPROXY_REMOTE_PORT:-5030}
	TPROXY_SERVICE_PORT=${TPROXY_SERVICE_PORT:-5030}
	TPROXY_NETWORKS=${TPROXY_NETWORKS:-}
	if [ -n "$TPROXY_REMOTE_ADDR" ]; then
		require_host TPROXY_REMOTE_ADDR "$TPROXY_REMOTE_ADDR"
		require_port TPROXY_REMOTE_PORT "$TPROXY_REMOTE_PORT"
		require_port TPROXY_SERVICE_PORT "$TPROXY_SERVICE_PORT"
		[[ -z $TPROXY_NETWORKS || $TPROXY_NETWORKS =~ ^[A-Za-z0-9_.-]+(,[ ]*[A-Za-z0-9_.-]+)*$ ]] ||
			one_die "TPROXY_NETWORKS: \"$TPROXY_NETWORKS\" is not a comma-separated list of network names or IDs"
	fi

	ONED_ENDPOINT=${ONED_ENDPOINT:-http://localhost:2633/RPC2}
	require_url ONED_ENDPOINT "$ONED_ENDPOINT"
	ONEFLOW_ENDPOINT=${ONEFLOW_ENDPOINT:-http://localhost:2474}
	require_url ONEFLOW_ENDPOINT "$ONEFLOW_ENDPOINT"
	GUACD_HOST=${GUACD_HOST:-localhost}
	require_host GUACD_HOST "$GUACD_HOST"
	GUACD_PORT=${GUACD_PORT:-4822}
	require_port GUACD_PORT "$GUACD_PORT"
	ONEFLOW_BIND=${ONEFLOW_BIND:-0.0.0.0}
	require_host ONEFLOW_BIND "$ONEFLOW_BIND"
	ONEGATE_BIND=${ONEGATE_BIND:-0.0.0.0}
	require_host ONEGATE_BIND "$ONEGATE_BIND"
	SSHD_PORT=${SSHD_PORT:-22}
	require_port SSHD_PORT "$SSHD_PORT"
	ONEDB_AUTO_UPGRADE=${ONEDB_AUTO_UPGRADE:-true}
	require_bool ONEDB_AUTO_UPGRADE "$ONEDB_AUTO_UPGRADE"
}

# --- the config step ---------------------------------------------------------------------------------

configure_oned() {
	local file=$ONE_ROOT/etc/one/oned.conf
	[ -f "$file" ] || one_die "$file not found: is OpenNebula installed under ${ONE_ROOT:-/}?"
	# Containers log to standard streams; the rest of the packaged LOG block is kept as upstream has it.
	set_template_block "$file" LOG "LOG = [
  SYSTEM      = \"std\",
  DEBUG_LEVEL = $ONE_LOG_LEVEL,
  USE_VMS_LOCATION = \"NO\"
]"
	if [ "$DB_BACKEND" = mysql ]; then
		set_template_block "$file" DB "DB = [ BACKEND = \"mysql\",
       SERVER  = \"$DB_HOST\",
       PORT    = $DB_PORT,
       USER    = \"$DB_USER\",
       PASSWD  = \"$DB_PASSWORD\",
       DB_NAME = \"$DB_NAME\",
       CONNECTIONS = $DB_CONNECTIONS,
       COMPARE_BINARY = \"no\" ]"
	else
		set_template_block "$file" DB "DB = [ BACKEND = \"sqlite\",
       TIMEOUT = 2500 ]"
	fi
	if [ -n "$ONE_HOSTNAME" ]; then
		set_template_value "$file" HOSTNAME "\"$ONE_HOSTNAME\""
	else
		unset_template_value "$file" HOSTNAME
	fi
	if [ -n "$ONEGATE_ENDPOINT" ]; then
		set_template_value "$file" ONEGATE_ENDPOINT "\"$ONEGATE_ENDPOINT\""
	else
		unset_template_value "$file" ONEGATE_ENDPOINT
	fi
	# The database password lives in this file: readable by oneadmin's group only.
	chmod 0640 "$file"
}

configure_monitord() {
	local file=$ONE_ROOT/etc/one/monitord.conf
	[ -f "$file" ] || one_die "$file not found"
	# monitord's standard streams are closed by oned, its parent: it logs to /var/log/one/monitor.log, which
	# the oned role streams to the container's output.
	set_template_block "$file" LOG "LOG = [
  system      = \"FILE\",
  debug_level = $ONE_LOG_LEVEL
]"
	set_template_block "$file" DB "DB = [
  CONNECTIONS = $MONITORD_DB_CONNECTIONS
]"
	set_block_attribute "$file" NETWORK MONITOR_ADDRESS "\"$MONITOR_ADDRESS\""
	set_block_attribute "$file" NETWORK PORT "$MONITOR_PORT"
}

configure_fireedge() {
	local file=$ONE_ROOT/etc/one/fireedge-server.conf
	[ -f "$file" ] || return 0
	yaml_set "$file" host "$(yaml_quote 0.0.0.0)"
	yaml_set "$file" one_xmlrpc "$(yaml_quote "$ONED_ENDPOINT")"
	yaml_set "$file" oneflow_server "$(yaml_quote "$ONEFLOW_ENDPOINT")"
	yaml_set "$file" host "$(yaml_quote "$GUACD_HOST")" guacd
	yaml_set "$file" port "$GUACD_PORT" guacd
	yaml_set "$file" endpoint "$(yaml_quote "$ONED_ENDPOINT")" default_zone
}

configure_oneflow() {
	local file=$ONE_ROOT/etc/one/oneflow-server.conf
	[ -f "$file" ] || return 0
	yaml_set "$file" :one_xmlrpc "$ONED_ENDPOINT"
	yaml_set "$file" :host "$ONEFLOW_BIND"
}

configure_onegate() {
	local file=$ONE_ROOT/etc/one/onegate-server.conf version
	[ -f "$file" ] || return 0
	version=$(one_version)
	yaml_set "$file" :one_xmlrpc "$ONED_ENDPOINT"
	yaml_set "$file" :oneflow_server "$ONEFLOW_ENDPOINT"
	# OneGate moved its listen address from :host: to :server: :bind: in the 7.4 development line.
	if version_ge "$version" 7.3.80; then
		yaml_set "$file" :bind "$ONEGATE_BIND" :server
	else
		yaml_set "$file" :host "$ONEGATE_BIND"
	fi
}

# The packages install OpenNebulaNetwork.conf with the drivers (remotes/etc/vnm, on the volume, synced to
# the hypervisors); init runs this again after it has installed the drivers.
configure_network() {
	local file=$ONE_ROOT/var/lib/one/remotes/etc/vnm/OpenNebulaNetwork.conf content=''
	[ -f "$file" ] || return 0
	if [ -n "$TPROXY_REMOTE_ADDR" ]; then
		content=":tproxy:
- :service_port: $TPROXY_SERVICE_PORT
  :remote_addr: $TPROXY_REMOTE_ADDR
  :remote_port: $TPROXY_REMOTE_PORT"
		if [ -n "$TPROXY_NETWORKS" ]; then
			content+=$'\n'"  :networks: [${TPROXY_NETWORKS//,/, }]"
			content=${content//,  /, }
		fi
	fi
	set_managed_section "$file" tproxy "$content"
}

configure_sshd() {
	local dir=$ONE_ROOT/etc/ssh/sshd_config.d
	mkdir -p "$dir"
	write_file "$dir/opennebula.conf" 0644 <<-EOF
		# Written by the OpenNebula container entrypoint from its environment.
		Port $SSHD_PORT
		HostKey /var/lib/one/.ssh-host-keys/ssh_host_ed25519_key
		HostKey /var/lib/one/.ssh-host-keys/ssh_host_rsa_key
		AllowUsers oneadmin
		PermitRootLogin no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PubkeyAuthentication yes
		# Without PAM sshd also runs as oneadmin (the chart's non-root container) on a port above 1024.
		UsePAM no
		PidFile /run/one/sshd.pid
	EOF
}

# An empty /etc/one (the chart's emptyDir under a read-only root file system) gets the packaged files from
# the pristine copy the image keeps.
ETC_ONE_PRISTINE=/usr/share/opennebula-container/etc-one
seed_etc_one() {
	local etc=$ONE_ROOT/etc/one pristine=$ONE_ROOT$ETC_ONE_PRISTINE
	[ ! -f "$etc/oned.conf" ] || return 0
	[ -f "$pristine/oned.conf" ] || return 0
	mkdir -p "$etc"
	cp -R "$pristine/." "$etc/"
	one_log "seeded $etc from $pristine"
}

# configure: every edit, in order. Each file is replaced by rename; the function is idempotent.
# Under `all`, supervisord's programs find ONE_CONFIGURED=yes: `all` configured once before starting them,
# and they only read the settings (several writers at once could interleave their edits).
configure() {
	load_settings
	if [ "${ONE_CONFIGURED:-}" = yes ]; then return 0; fi
	seed_etc_one
	configure_oned
	configure_monitord
	configure_fireedge
	configure_oneflow
	configure_onegate
	configure_network
	configure_sshd
	one_log "configuration written under ${ONE_ROOT}/etc/one (backend $DB_BACKEND)"
}
