# shellcheck shell=bash
# The leader-only services of an HA member (OpenNebula's packaged Raft hook starts OneFlow, OneGate, OneForm
# and hem on the leader and stops them on the followers: otherwise every member's hem would run every hook
# and every member's OneFlow would act on the same services). Under `all`, ha-hook does it with
# supervisorctl. A role run as a container's own main process (the chart: one container per role) has no
# supervisord: the entrypoint runs the daemon under this gate instead of exec'ing it.
#
#   HA_LEADER_SERVICES       the roles that run on the leader only (default below; ha-hook reads it too)
#   HA_LEADER_POLL           seconds between two looks at the local oned's Raft state (default 5)
#   HA_LEADER_STOP_TIMEOUT   seconds a stopped daemon has after SIGTERM before SIGKILL (default 20)
#
# The gate asks the local oned (127.0.0.1:HA_RPC_PORT, oneadmin's credentials, as `probe raft` does) for
# one.zone.raftstatus every HA_LEADER_POLL seconds; it starts the daemon (its usual command, as a child)
# when oned leads, and stops it when oned no longer leads or has not answered for HA_LEADER_UNANSWERED
# polls in a row. SIGTERM or SIGINT stops the daemon the same way and ends the gate. A daemon that ends by
# itself ends the gate with its status (the container restarts, as without the gate). While the daemon is
# not running, $ONE_ROOT/run/one/ha-gate.ROLE says "standby", so that the role's probe passes (see
# ha_gate_standby).

HA_LEADER_SERVICES_DEFAULT='oneflow onegate oneform hem'
HA_LEADER_UNANSWERED=3

ha_leader_services() { printf '%s' "${HA_LEADER_SERVICES:-$HA_LEADER_SERVICES_DEFAULT}"; }

# ha_gated ROLE: ROLE runs on the leader only and this process is the container's own (not a program of
# supervisord's, which sets SUPERVISOR_ENABLED in its programs' environment; ha-hook gates those).
ha_gated() {
	[ -n "${HA_PEERS:-}" ] && [ -z "${SUPERVISOR_ENABLED:-}" ] || return 1
	local service
	for service in $(ha_leader_services); do [ "$service" != "$1" ] || return 0; done
	return 1
}

ha_gate_state_file() { printf '%s' "$ONE_ROOT/run/one/ha-gate.$1"; }

# ha_gate_started PID: when the process PID started (/proc/PID/stat's field 22), to tell a gate from a
# later process with its PID (a restarted container's entrypoint is PID 1 again).
ha_gate_started() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -ra fields <<<"${stat##*) }"
	printf '%s' "${fields[19]}"
}

# ha_gate_standby ROLE: the gate of ROLE runs in this container and holds the daemon back (this member does
# not lead): the role's probe passes without the daemon.
ha_gate_standby() {
	local file state pid started
	file=$(ha_gate_state_file "$1")
	[ -r "$file" ] && read -r state pid started <"$file" || return 1
	[ "$state" = standby ] && [[ $pid =~ ^[0-9]+$ ]] && [ "$(ha_gate_started "$pid")" = "$started" ]
}

ha_gate_record() { # ha_gate_record ROLE STATE
	local file
	file=$(ha_gate_state_file "$1")
	mkdir -p "${file%/*}" 2>/dev/null || return 0
	if printf '%s %s %s\n' "$2" "$$" "$(ha_gate_started $$)" >"$file.tmp" 2>/dev/null; then
		mv -f "$file.tmp" "$file" 2>/dev/null || true
	fi
}

# ha_gate_waiting ROLE [logged|forget]: why the daemon is not running, logged once until the reason changes
# (logged: the gate said it another way; forget: the daemon runs, say it again next time).
ha_gate_waiting() {
	local message="this member is not the leader ($HA_RAFT_STATE): $1 waits"
	[ "$HA_RAFT_STATE" != unanswered ] || message="oned does not answer on 127.0.0.1:$HA_PORT: $1 waits"
	# shellcheck disable=SC2034 # HA_LAST_LOG is ha_log_once's (ha.sh)
	case ${2:-} in
	logged) HA_LAST_LOG=$message ;;
	forget) HA_LAST_LOG='' ;;
	*) ha_log_once "$message" ;;
	esac
}

# ha_gate_stop ROLE REASON: SIGTERM to the daemon, SIGKILL after HA_LEADER_STOP_TIMEOUT seconds.
ha_gate_stop() {
	local role=$1 reason=$2 tenths=0 rc=0
	[ -n "$HA_GATE_CHILD" ] || return 0
	ha_log "$reason: stopping $role (pid $HA_GATE_CHILD)"
	kill -TERM "$HA_GATE_CHILD" 2>/dev/null || true
	while kill -0 "$HA_GATE_CHILD" 2>/dev/null; do
		if [ "$tenths" -ge $((HA_GATE_GRACE * 10)) ]; then
			ha_log "$role did not stop within ${HA_GATE_GRACE}s (HA_LEADER_STOP_TIMEOUT): SIGKILL"
			kill -KILL "$HA_GATE_CHILD" 2>/dev/null || true
			break
		fi
		sleep 0.1
		tenths=$((tenths + 1))
	done
	wait "$HA_GATE_CHILD" 2>/dev/null || rc=$?
	ha_log "$role stopped (status $rc)"
	HA_GATE_CHILD=''
	ha_gate_record "$role" standby
}

# ha_gate_check_child ROLE: a daemon that ended by itself ends the gate with its status.
ha_gate_check_child() {
	[ -n "$HA_GATE_CHILD" ] && ! kill -0 "$HA_GATE_CHILD" 2>/dev/null || return 0
	local rc=0
	wait "$HA_GATE_CHILD" 2>/dev/null || rc=$?
	ha_log "$1 ended by itself (status $rc) while this member leads: the gate ends with it"
	rm -f "$(ha_gate_state_file "$1")"
	exit "$rc"
}

ha_gate_settings() {
	HA_PORT=${HA_RPC_PORT:-2633}
	require_port HA_RPC_PORT "$HA_PORT"
	HA_GATE_POLL=${HA_LEADER_POLL:-5} HA_GATE_GRACE=${HA_LEADER_STOP_TIMEOUT:-20}
	require_uint HA_LEADER_POLL "$HA_GATE_POLL"
	[ "$HA_GATE_POLL" -ge 1 ] || one_die "HA_LEADER_POLL: \"$HA_GATE_POLL\" must be at least 1 (seconds)"
	require_uint HA_LEADER_STOP_TIMEOUT "$HA_GATE_GRACE"
}

# ha_gate_run ROLE RUNNER COMMAND...: runs `RUNNER COMMAND...` in a child (the entrypoint's
# exec_as_oneadmin and the role's daemon) while the local oned leads; never returns.
ha_gate_run() {
	local role=$1 state unanswered=0 sleeper
	shift
	ha_gate_settings
	HA_GATE_CHILD='' HA_GATE_DONE=''
	trap 'HA_GATE_DONE=SIGTERM' TERM
	trap 'HA_GATE_DONE=SIGINT' INT
	ha_gate_record "$role" standby
	ha_log "$role runs on the Raft leader only: watching the local oned (127.0.0.1:$HA_PORT) every ${HA_GATE_POLL}s"
	while [ -z "$HA_GATE_DONE" ]; do
		ha_local_raft
		state=$HA_RAFT_STATE
		if [ "$state" = unanswered ]; then unanswered=$((unanswered + 1)); else unanswered=0; fi
		if [ "$state" = leader ] && [ -z "$HA_GATE_CHILD" ]; then
			ha_log "this member leads (term $HA_RAFT_TERM): starting $role: ${*:2}"
			("$@") &
			HA_GATE_CHILD=$!
			ha_gate_waiting "$role" forget
			ha_gate_record "$role" running
		elif [ -n "$HA_GATE_CHILD" ] && [ "$state" != leader ] && [ "$state" != unanswered ]; then
			ha_gate_stop "$role" "this member is no longer the leader ($state${HA_RAFT_TERM:+, term $HA_RAFT_TERM})"
			ha_gate_waiting "$role" logged
		elif [ -n "$HA_GATE_CHILD" ] && [ "$unanswered" -ge "$HA_LEADER_UNANSWERED" ]; then
			ha_gate_stop "$role" "oned has not answered $unanswered polls in a row"
			ha_gate_waiting "$role" logged
		elif [ -z "$HA_GATE_CHILD" ]; then
			ha_gate_waiting "$role"
		fi
		ha_gate_check_child "$role"
		[ -z "$HA_GATE_DONE" ] || break
		sleep "$HA_GATE_POLL" &
		sleeper=$!
		wait "$sleeper" 2>/dev/null || kill "$sleeper" 2>/dev/null || true
		ha_gate_check_child "$role"
	done
	ha_gate_stop "$role" "$HA_GATE_DONE"
	rm -f "$(ha_gate_state_file "$role")"
	ha_log "$role's gate ends ($HA_GATE_DONE)"
	exit 0
}
