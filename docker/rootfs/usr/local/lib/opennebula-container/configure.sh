# shellcheck shell=bash
# The config step: builds /etc/one ($ONE_ROOT/etc/one) from OpenNebula's pristine files, the operator's
# overrides (overrides.sh) and the environment, in that order. Each edit replaces one key or block in place
# (editors.sh), so comments and every other setting stay as upstream wrote them, and running it twice gives
# the same files.

# shellcheck source=docker/rootfs/usr/local/lib/opennebula-container/editors.sh
source "${BASH_SOURCE[0]%/*}/editors.sh"
# shellcheck source=docker/rootfs/usr/local/lib/opennebula-container/overrides.sh
source "${BASH_SOURCE[0]%/*}/overrides.sh"
# shellcheck source=docker/rootfs/usr/local/lib/opennebula-container/etc-one.sh
source "${BASH_SOURCE[0]%/*}/etc-one.sh"

# --- settings ----------------------------------------------------------------------------------------

# Reads and validates every setting the config step uses. Errors name the variable.
load_settings() {
	DB_BACKEND=${DB_BACKEND:-sqlite}
	case $DB_BACKEND in
	sqlite | mysql) ;;
	*) one_die "DB_BACKEND: \"$DB_BACKEND\" is not a database backend (sqlite or mysql)" ;;
	esac
	file_env DB_PASSWORD
	ha_db_host # HA_DB_HOSTS: this member's DB_HOST (ha.sh)
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
		require_onedb_credentials
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

# onedb (init runs it: `onedb version`, `onedb upgrade`) connects through a URL, mysql2://USER:PASSWORD@...,
# with the password CGI-escaped, which turns a space into "+" that Sequel does not turn back, and the user
# as it is (src/onedb/onedb_backend.rb): what cannot make that trip is refused here, naming the variable.
require_onedb_credentials() {
	case $DB_PASSWORD in
	*' '*) one_die "DB_PASSWORD must not contain spaces (onedb, which init runs, passes it in a connection URL that turns them into \"+\")" ;;
	esac
	[[ $DB_USER =~ ^[A-Za-z0-9._~!\$\&\'()*+,\;=-]+$ ]] ||
		one_die "DB_USER: \"$DB_USER\" must hold only letters, digits and . _ ~ ! \$ & ' ( ) * + , ; = - (onedb, which init runs, puts it unescaped in a connection URL)"
}

# --- the config step ---------------------------------------------------------------------------------

configure_oned() {
	local file=$ETC/oned.conf
	[ -f "$file" ] || one_die "$file not found: is OpenNebula installed under ${ONE_ROOT:-/}?"
	# oned gives each VM's log the log system of its own (src/vm/VirtualMachine.cc): with "std" no VM has a
	# log file, and FireEdge's VM log tab finds none. So oned logs to /var/log/one/oned.log, which the oned
	# role streams to the container's output, and each VM to /var/lib/one/vms/<id>/vm.log (USE_VMS_LOCATION):
	# on the volume with the VM's other files, where FireEdge reads it when USE_VMS_LOCATION is YES.
	set_template_block "$file" LOG "LOG = [
  SYSTEM      = \"file\",
  DEBUG_LEVEL = $ONE_LOG_LEVEL,
  USE_VMS_LOCATION = \"YES\"
]"
	if [ "$DB_BACKEND" = mysql ]; then
		set_template_block "$file" DB "DB = [ BACKEND = \"mysql\",
       SERVER  = \"$DB_HOST\",
       PORT    = $DB_PORT,
       USER    = $(template_quote "$DB_USER"),
       PASSWD  = $(template_quote "$DB_PASSWORD"),
       DB_NAME = \"$DB_NAME\",
       CONNECTIONS = $DB_CONNECTIONS,
       COMPARE_BINARY = \"no\" ]"
	else
		set_template_block "$file" DB "DB = [ BACKEND = \"sqlite\",
       TIMEOUT = 2500 ]"
	fi
	if [ -n "$ONE_HOSTNAME" ]; then
		set_template_key "$file" HOSTNAME "\"$ONE_HOSTNAME\"" append
	else
		unset_template_value "$file" HOSTNAME
	fi
	if [ -n "$ONEGATE_ENDPOINT" ]; then
		set_template_key "$file" ONEGATE_ENDPOINT "\"$ONEGATE_ENDPOINT\"" append
	else
		unset_template_value "$file" ONEGATE_ENDPOINT
	fi
}

configure_monitord() {
	local file=$ETC/monitord.conf
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
	local file=$ETC/fireedge-server.conf
	[ -f "$file" ] || return 0
	yaml_set "$file" host "$(yaml_quote 0.0.0.0)"
	yaml_set "$file" one_xmlrpc "$(yaml_quote "$ONED_ENDPOINT")"
	yaml_set "$file" oneflow_server "$(yaml_quote "$ONEFLOW_ENDPOINT")"
	yaml_set "$file" guacd/host "$(yaml_quote "$GUACD_HOST")"
	yaml_set "$file" guacd/port "$GUACD_PORT"
	yaml_set "$file" default_zone/endpoint "$(yaml_quote "$ONED_ENDPOINT")"
}

configure_oneflow() {
	local file=$ETC/oneflow-server.conf
	[ -f "$file" ] || return 0
	yaml_set "$file" :one_xmlrpc "$ONED_ENDPOINT"
	yaml_set "$file" :host "$ONEFLOW_BIND"
}

configure_onegate() {
	local file=$ETC/onegate-server.conf version
	[ -f "$file" ] || return 0
	version=$(one_version)
	yaml_set "$file" :one_xmlrpc "$ONED_ENDPOINT"
	yaml_set "$file" :oneflow_server "$ONEFLOW_ENDPOINT"
	# OneGate moved its listen address from :host: to :server: :bind: in the 7.4 development line.
	if version_ge "$version" 7.3.80; then
		yaml_set "$file" :server/:bind "$ONEGATE_BIND"
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

# configure: /etc/one built afresh (etc-one.sh) under a lock on it, then the files outside it. The chart's
# containers all run it on the one shared /etc/one when the pod starts; each run builds the same files, and
# a file that does not change is not written. Under `all`, supervisord's programs find ONE_CONFIGURED=yes:
# `all` configured once before starting them.
configure() {
	load_settings
	if [ "${ONE_CONFIGURED:-}" = yes ]; then return 0; fi
	one_version >/dev/null
	read_overrides
	local etc=$ONE_ROOT/etc/one
	mkdir -p "$etc"
	# A subshell holds the lock (released when it exits, also on an error) and cleans up its scratch tree.
	(
		lock_etc_one "$etc"
		build_etc_one "$etc"
		configure_network
		configure_sshd
	) || exit 1
	one_log "configuration written under ${ONE_ROOT}/etc/one (backend $DB_BACKEND)"
}

# The environment's edits, on the tree being built (ETC).
configure_from_environment() {
	configure_oned
	configure_monitord
	configure_fireedge
	configure_oneflow
	configure_onegate
}
