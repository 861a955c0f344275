# shellcheck shell=bash
# The exporter role: OpenNebula's own Prometheus exporter (/usr/lib/one/opennebula_exporter, from the
# release's Prometheus packages) on port 9925 as oneadmin, against oned's XML-RPC (ONED_ENDPOINT), with
# oneadmin's credentials. Its server collector asks systemd for the state of each OpenNebula service
# (opennebula_{oned,scheduler,flow,hem,gate,fireedge}_state); containers have no systemd, so the image's
# adapter (exporter-services.rb, loaded before the exporter) asks `opennebula-entrypoint service-state`
# below instead, which looks with the same checks as the roles' probes.
# Sourced by the entrypoint, after common.sh.

EXPORTER_SCRIPT=/usr/lib/one/opennebula_exporter/opennebula_exporter.rb
EXPORTER_PORT=9925

# The credentials the exporter calls oned with: ONEADMIN_PASSWORD (or its _FILE) written to a file of
# oneadmin's under /run (the daemons never see the password in their environment), else oneadmin's own
# one_auth on the volume (the `all` role, a single container).
exporter_auth_file() {
	file_env ONEADMIN_PASSWORD
	local file=$ONE_ROOT/run/one/exporter_auth
	if [ -n "${ONEADMIN_PASSWORD:-}" ]; then
		mkdir -p "${file%/*}"
		(umask 077 && printf 'oneadmin:%s\n' "$ONEADMIN_PASSWORD" >"$file")
		if [ "$(id -u)" -eq 0 ]; then chown "$ONEADMIN_UID:$ONEADMIN_GID" "$file"; fi
		printf '%s' "${file#"$ONE_ROOT"}"
		return 0
	fi
	file=$ONE_ROOT/var/lib/one/.one/one_auth
	[ -s "$file" ] ||
		one_die "exporter: no credentials for oned: set ONEADMIN_PASSWORD (or ONEADMIN_PASSWORD_FILE), or run where $file exists"
	printf '%s' "${file#"$ONE_ROOT"}"
}

# The role's setup; the entrypoint then execs role_command's command line as oneadmin.
exporter_prepare() {
	[ -f "$ONE_ROOT$EXPORTER_SCRIPT" ] ||
		one_die "exporter: $EXPORTER_SCRIPT is missing: this image was built without OpenNebula's exporter (opennebula-prometheus-kvm)"
	ONED_ENDPOINT=${ONED_ENDPOINT:-http://localhost:2633/RPC2}
	require_url ONED_ENDPOINT "$ONED_ENDPOINT"
	local auth
	auth=$(exporter_auth_file)
	one_log "exporter on port $EXPORTER_PORT against $ONED_ENDPOINT"
	# OpenNebula's client reads ONE_AUTH and ONE_XMLRPC; the adapter's checks read ONED_ENDPOINT.
	# shellcheck disable=SC2034 # read by the entrypoint's exec_as_oneadmin
	EXTRA_ENV=("ONE_AUTH=$auth" "ONE_XMLRPC=$ONED_ENDPOINT" "ONED_ENDPOINT=$ONED_ENDPOINT")
}

exporter_command() {
	# shellcheck disable=SC2034 # read by the entrypoint
	ROLE_COMMAND=(/usr/bin/ruby -r "$LIB/exporter-services.rb" "$EXPORTER_SCRIPT")
}

# probe exporter [HOST [PORT]]: the exporter accepts connections. A TCP check on purpose: OpenNebula's
# exporter collects every pool from oned on every HTTP request it serves (even GET /), so an HTTP probe
# would load oned at each period.
probe_exporter() {
	local host=${1:-127.0.0.1} port=${2:-$EXPORTER_PORT}
	require_port "probe port" "$port"
	accepts_tcp "$host" "$port" || one_die "probe exporter: nothing listens on $host:$port"
}

# A process of this PID namespace whose command line (words joined by spaces) matches the extended
# regular expression; prints its PID.
exporter_find_process() {
	local dir args
	for dir in /proc/[0-9]*; do
		mapfile -d '' args 2>/dev/null <"$dir/cmdline" || continue
		if [[ "${args[*]}" =~ $1 ]]; then
			printf '%s' "${dir#/proc/}"
			return 0
		fi
	done
	return 1
}

# An ESTABLISHED TCP connection to PORT in this network namespace (the pod's: shared by its containers).
exporter_connected_to() {
	local port hex table remote state
	port=$1
	printf -v hex ':%04X' "$port"
	for table in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$table" ] || continue
		{
			read -r _
			while read -r _ _ remote state _; do
				if [ "$state" = 01 ] && [[ $remote == *"$hex" ]]; then return 0; fi
			done
		} <"$table"
	done
	return 1
}

# service-state SERVICE: exit 0 when SERVICE (oned scheduler oneflow onegate fireedge hem) is up, as the
# roles' probes see it from this container. In one pod the containers share the network namespace, not
# the PID namespace: what needs a process (the scheduler, hem) is looked up in /proc where visible (the
# `all` role), else through what the network shows.
service_state() {
	local service=${1:-} address=${ONED_ENDPOINT:-http://localhost:2633/RPC2}
	address=${address#*://} && address=${address%%/*}
	local oned_host=${address%:*} oned_port=${address##*:}
	[ "$oned_host" != "$address" ] || oned_port=2633
	oned_host=${oned_host#[} && oned_host=${oned_host%]}
	case $service in
	oned) (ONE_PROBE_AUTH='' probe oned "$oned_host" "$oned_port") >/dev/null ;;
	scheduler)
		# oned runs the scheduler as its driver (SCHED_MAD one_sched; 7.0 removed the scheduler service).
		(ONE_PROBE_AUTH='' probe oned "$oned_host" "$oned_port") >/dev/null || return 1
		if exporter_find_process '^/usr/bin/oned( |$)' >/dev/null; then
			exporter_find_process '^[^ ]*ruby[^ ]* [^ ]*/one_sched\.rb( |$)' >/dev/null
		fi
		;;
	oneflow | onegate | fireedge) (probe "$service") >/dev/null ;;
	hem)
		if exporter_find_process '^[^ ]*ruby /usr/lib/one/onehem/onehem-server\.rb( |$)' >/dev/null; then
			(probe hem) >/dev/null
		else
			# Another container's hem: its connection to oned's replier (onehem-server.conf, packaged 2102),
			# the endpoint only hem connects to.
			exporter_connected_to "${HEM_REPLIER_PORT:-2102}"
		fi
		;;
	*) one_die "service-state: unknown service \"$service\" (oned scheduler oneflow onegate fireedge hem)" ;;
	esac
}
