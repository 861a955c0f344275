# shellcheck shell=bash disable=SC2034 # streaming_logs is read by the entrypoint's exec_as_oneadmin
# What the long-running roles start beside their daemon, before the entrypoint execs it: the log tails and
# the log keeper, the ssh-agent, the SSH sockets cleaner, and the showback loop. Under `all` a role runs as
# root until the exec: every helper runs as oneadmin (never following, as root, a path oneadmin controls)
# and none holds a secret (drop_secrets runs before any starts).

# The command prefix that runs a helper as oneadmin (through setpriv when root): AS_ONEADMIN. The helpers
# need no supplementary group (oneadmin's own is its primary).
oneadmin_prefix() {
	if [ "$(id -u)" -eq 0 ]; then
		AS_ONEADMIN=(setpriv --reuid="$ONEADMIN_UID" --regid="$ONEADMIN_GID" --clear-groups --
			env HOME=/var/lib/one USER=oneadmin)
	else
		AS_ONEADMIN=(env)
	fi
}

as_oneadmin() {
	oneadmin_prefix
	"${AS_ONEADMIN[@]}" "$@"
}

# The daemons read their credentials from the files configure and init wrote: nothing the role starts
# after configuring (tails, loops, agents, the daemon, supervisord under `all`) holds them.
drop_secrets() {
	unset DB_PASSWORD ONEADMIN_PASSWORD ONE_PROBE_AUTH DB_PASSWORD_FILE ONEADMIN_PASSWORD_FILE ONE_PROBE_AUTH_FILE
}

# Daemons that can only log to files write them as usual; the role streams each file to its own output
# (tail follows it across truncation and rotation, and stops with the daemon, whose PID is this shell's
# after exec). Pointing the files at /dev/stdout fails once the daemon is oneadmin and its output a pipe of
# root's (supervisord under `all`).
LOG_FILES=()
# Set by stream_log: the role streams log files to the container's output (read by exec_as_oneadmin).
streaming_logs=no
stream_log() { # stream_log FILE [NAME...]: FILE, and any NAME that appears later, followed by one tail
	local file=$1
	ensure_dir "${file%/*}" 0750
	oneadmin_prefix
	"${AS_ONEADMIN[@]}" touch "$file" 2>/dev/null || true
	"${AS_ONEADMIN[@]}" tail -q -n 0 -F --pid=$$ "$@" 2>/dev/null &
	streaming_logs=yes
	LOG_FILES+=("$file")
}

# FireEdge logs through winston's File transport with a 5 MB maxsize and no `tailable`: past that size it
# moves on to STEM1.log, STEM2.log, ... (numbers may skip under load) and keeps every one. Follow those
# names as they appear (tail shows a new file from its start); the log keeper removes the ones already
# streamed, keeping the current and the previous.
ROLLED_LOG_NAMES=9999
ROLLED_LOGS=()
stream_rolled_log() { # stream_rolled_log FILE
	local file=$1 stem=${1%.log} names=() n
	for ((n = 1; n <= ROLLED_LOG_NAMES; n++)); do names+=("$stem$n.log"); done
	stream_log "$file" "${names[@]}"
	unset 'LOG_FILES[-1]'
	ROLLED_LOGS+=("$stem")
}

prune_rolled_log() { # prune_rolled_log STEM: removes STEM.log, STEMn.log, ... older than the newest two
	local stem=$1 file n indexes=()
	for file in "$stem"[0-9]*.log; do
		n=${file#"$stem"} && n=${n%.log}
		[[ $n =~ ^[0-9]+$ ]] && indexes+=("$n")
	done
	[ ${#indexes[@]} -ge 2 ] || return 0
	mapfile -t indexes < <(printf '%s\n' "${indexes[@]}" | sort -n)
	rm -f "$stem.log"
	for n in "${indexes[@]:0:${#indexes[@]}-2}"; do rm -f "$stem$n.log"; done
}

# cap_log FILE MAX: empties FILE once it is over MAX bytes, as the packages' logrotate does weekly with
# copytruncate (the daemons append; tail -F follows the truncation). Its lines already reached the output.
cap_log() {
	local size
	size=$(stat -c %s "$1" 2>/dev/null) || return 0
	[ "$size" -le "$2" ] || : >"$1"
}

# Each VM's log (/var/lib/one/vms/<id>/vm.log, see configure.sh) is read by FireEdge's VM log tab, not
# streamed: past MAX bytes its content moves to vm.log.1 (replacing the previous one) and vm.log is emptied
# in place (copytruncate: oned keeps its descriptor; a line written between the copy and the truncation is
# lost, as with logrotate).
VM_LOG_DIRS=()
rotate_vm_logs() { # rotate_vm_logs DIR MAX
	local file size
	for file in "$1"/*/vm.log; do
		size=$(stat -c %s "$file" 2>/dev/null) || continue
		[ "$size" -gt "$2" ] || continue
		cp -- "$file" "$file.1.new" && mv -f -- "$file.1.new" "$file.1" && : >"$file"
	done
}

# The log keeper: every LOG_CHECK_INTERVAL seconds while the daemon runs, caps each streamed file at
# LOG_MAX_BYTES, prunes FireEdge's rolled files and rotates the VMs' logs. As oneadmin, from a clean
# environment. Its arguments name each job: cap:FILE, prune:STEM, vms:DIR.
start_log_keeper() {
	local jobs=() item
	for item in "${LOG_FILES[@]}"; do jobs+=("cap:$item"); done
	for item in "${ROLLED_LOGS[@]}"; do jobs+=("prune:$item"); done
	for item in "${VM_LOG_DIRS[@]}"; do jobs+=("vms:$item"); done
	[ ${#jobs[@]} -gt 0 ] || return 0
	local interval=${LOG_CHECK_INTERVAL:-60} max=${LOG_MAX_BYTES:-104857600}
	require_uint LOG_CHECK_INTERVAL "$interval"
	require_uint LOG_MAX_BYTES "$max"
	oneadmin_prefix
	# shellcheck disable=SC2016 # expanded by the keeper's own shell
	"${AS_ONEADMIN[@]}" bash -c "$(declare -f cap_log prune_rolled_log rotate_vm_logs)"'
		pid=$1 interval=$2 max=$3 waited=0
		shift 3
		# Looks for the daemon every second, so that a restarted role leaves no keeper of its last run.
		while sleep 1 && [ -d "/proc/$pid" ]; do
			[ $((waited += 1)) -ge "$interval" ] || continue
			waited=0
			for job in "$@"; do
				case $job in
				cap:*) cap_log "${job#cap:}" "$max" ;;
				prune:*) prune_rolled_log "${job#prune:}" ;;
				vms:*) rotate_vm_logs "${job#vms:}" "$max" ;;
				esac
			done
		done' log-keeper "$$" "$interval" "$max" "${jobs[@]}" >/dev/null 2>&1 &
}

log_to_streams() {
	local dir=$ONE_ROOT/var/log/one
	case $1 in
	oned)
		# oned (LOG SYSTEM "file", so that each VM has its own vm.log: see configure.sh), monitord and the
		# scheduler (OpenNebula 7.4's rank driver; sched.log before) log to files.
		stream_log "$dir/oned.log"
		stream_log "$dir/monitor.log"
		if version_ge "$(one_version)" 7.4.0; then stream_log "$dir/rank_sched.log"; else stream_log "$dir/sched.log"; fi
		VM_LOG_DIRS+=("$ONE_ROOT/var/lib/one/vms")
		;;
	fireedge)
		stream_rolled_log "$dir/fireedge.log"
		stream_log "$dir/fireedge.error"
		;;
	oneflow) stream_log "$dir/oneflow.log" ;;
	onegate) stream_log "$dir/onegate.log" ;;
	oneform) stream_log "$dir/oneform.log" ;;
	oneks) stream_log "$dir/oneks.log" ;;
	hem) stream_log "$dir/onehem.log" ;;
	esac
	start_log_keeper
}

# oned and hem run the drivers, which SSH to the hypervisors and, with agent forwarding, back to the
# front-end (TM_MAD local: qcow2 deploys, undeploy, save-as, cold migration, backups): an ssh-agent with
# oneadmin's key, as opennebula-ssh-agent.service provides. The agent runs the daemon (`ssh-agent -a SOCK
# COMMAND`: the daemon keeps the role's PID, gets SSH_AUTH_SOCK, and the agent exits when it does), so a
# restarted daemon leaves no agent behind.
with_ssh_agent() { # with_ssh_agent NAME: wraps ROLE_COMMAND
	local sock=$ONE_ROOT/run/one/ssh-agent.$1.sock
	command -v ssh-agent >/dev/null || one_die "ssh-agent is missing from the image"
	rm -f "$sock"
	ROLE_COMMAND=(ssh-agent -a "$sock" /bin/sh -c \
		'ssh-add -q 2>/dev/null || echo "[opennebula] warning: ssh-add found no key for oneadmin" >&2; exec "$@"' \
		sh "${ROLE_COMMAND[@]}")
}

# What the opennebula-ssh-socks-cleaner timer does under systemd, for the roles whose drivers open SSH
# control sockets (oned, hem): drop stale ones every 30 s while the daemon runs.
start_socks_cleaner() {
	[ -x /usr/lib/one/sh/ssh-socks-cleaner ] || return 0
	oneadmin_prefix
	# shellcheck disable=SC2016 # expanded by the cleaner's own shell
	# Every 30 s while the daemon runs, looking for it every second (a restarted role leaves none behind).
	"${AS_ONEADMIN[@]}" bash -c 'waited=0; while sleep 1 && [ -d "/proc/$1" ]; do
		[ $((waited += 1)) -ge 30 ] || continue
		waited=0
		/usr/lib/one/sh/ssh-socks-cleaner >/dev/null 2>&1 || true
	done' socks-cleaner "$$" >/dev/null 2>&1 &
}

# OneForm's and OneKS's packaged state (/var/lib/one/oneform, /var/lib/one/oneks: drivers, cluster
# specifications) is under the volume: the image keeps a copy and seeds it once, as oneadmin (the servers
# write their driver states there).
seed_packaged_state() { # seed_packaged_state NAME
	local source=$ONE_ROOT/usr/share/one/image/$1 target=$ONE_ROOT/var/lib/one/$1
	[ -d "$source" ] || return 0
	[ ! -e "$target" ] && [ ! -L "$target" ] || return 0
	as_oneadmin cp -R "$source" "$target" || one_die "could not seed $target from $source"
	one_log "seeded $target from $source"
}

# The `showback` role: what the packages' opennebula-showback.timer runs daily, `oneshowback calculate`
# as oneadmin against ONED_ENDPOINT. Once (the chart's CronJob), or every SHOWBACK_INTERVAL seconds when
# set (`all` runs it daily). oneadmin's credentials: ONEADMIN_PASSWORD (or its _FILE) when given, else
# the volume's one_auth.
showback_auth() {
	file_env ONEADMIN_PASSWORD
	[ -n "$ONEADMIN_PASSWORD" ] || return 0
	local auth
	auth=$(mktemp -t showback-auth.XXXXXX)
	printf 'oneadmin:%s\n' "$ONEADMIN_PASSWORD" >"$auth"
	if [ "$(id -u)" -eq 0 ]; then chown "$ONEADMIN_UID:$ONEADMIN_GID" "$auth"; fi
	EXTRA_ENV+=("ONE_AUTH=$auth")
}

showback_command() {
	local interval=${SHOWBACK_INTERVAL:-}
	[ -z "$interval" ] || require_uint SHOWBACK_INTERVAL "$interval"
	EXTRA_ENV+=("ONE_XMLRPC=${ONED_ENDPOINT:-http://localhost:2633/RPC2}")
	# shellcheck disable=SC2016 # expanded by the loop's own shell
	ROLE_COMMAND=(/bin/bash -c 'while true; do
		rc=0 && /usr/bin/oneshowback calculate || rc=$?
		[ -n "$1" ] || exit "$rc"
		[ "$rc" -eq 0 ] || echo "[opennebula] oneshowback calculate failed (exit $rc); again in $1 s" >&2
		sleep "$1"
	done' showback "$interval")
}
