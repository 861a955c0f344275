# shellcheck shell=bash
# High availability: OpenNebula's own Raft between front-ends, each with its own database (OpenNebula 7.4's
# front-end HA guide, done by the roles instead of by hand). Off unless HA_PEERS is set.
#
#   HA_PEERS        every member as NAME=HOST, space-separated, in a fixed order ("one-0=10.0.0.1 ..."); the
#                   first one alone may bootstrap a new cluster. HOST serves oned's XML-RPC on HA_RPC_PORT and
#                   this member's database on DB_PORT (same DB_NAME, DB_USER and DB_PASSWORD everywhere).
#   HA_SERVER_NAME  this member's NAME (default: the host name); FEDERATION/SERVER_ID is the id the zone gives
#                   that NAME, never an ordinal.
#   HA_LOG_RETENTION, HA_LOG_PURGE_TIMEOUT, HA_ELECTION_TIMEOUT_MS, HA_BROADCAST_TIMEOUT_MS,
#   HA_XMLRPC_TIMEOUT_MS  the RAFT block (packaged defaults when unset).
#   HA_JOIN_TIMEOUT seconds a member waits for a leader (or its turn) before failing (default 900).
#
# init (before the database checks): a member the zone lacks, or whose database is empty or older than the
# leader's LOG_RETENTION, restores a copy of the leader's database (onedb backup there, onedb restore here),
# then is added (server-add, one member at a time: it waits until every member before it in HA_PEERS is in
# the zone and caught up) or reset (server-reset). Without a leader, only the first member with no cluster
# anywhere bootstraps: oned solo on its database, server-add of itself, stop (ha_after_init). A member whose
# own database names it rejoins as a follower and Raft elects. oned: SERVER_ID by name, the RAFT block and
# the hooks (ha-hook), and oned run under ha-oned, which runs the follower hook when oned ends however it
# ends (the packaged unit's follower_cleanup).

ha_enabled() { [ -n "${HA_PEERS:-}" ]; }

ha_log() { one_log "ha: $*"; }

HA_LAST_LOG=''
ha_log_once() { # a waiting loop's message, once until it changes
	[ "$*" = "$HA_LAST_LOG" ] || ha_log "$*"
	HA_LAST_LOG=$*
}

# Parses HA_PEERS into HA_NAMES (ordered) and HA_HOSTS[name]; checks HA_SERVER_NAME is one of them.
ha_load() {
	HA_NAMES=()
	declare -gA HA_HOSTS=()
	local entry
	for entry in $HA_PEERS; do
		[[ $entry =~ ^([A-Za-z0-9._-]+)=([A-Za-z0-9.:-]+)$ ]] ||
			one_die "HA_PEERS: \"$entry\" is not NAME=HOST"
		[ -z "${HA_HOSTS[${BASH_REMATCH[1]}]:-}" ] || one_die "HA_PEERS: ${BASH_REMATCH[1]} is listed twice"
		HA_NAMES+=("${BASH_REMATCH[1]}")
		HA_HOSTS[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done
	case ${#HA_NAMES[@]} in
	3 | 5) ;;
	*) one_die "HA_PEERS: ${#HA_NAMES[@]} members; Raft needs 3 or 5 (an even number adds no fault tolerance)" ;;
	esac
	HA_NAME=${HA_SERVER_NAME:-$(hostname)}
	[ -n "${HA_HOSTS[$HA_NAME]:-}" ] || one_die "HA_SERVER_NAME: \"$HA_NAME\" is not in HA_PEERS ($HA_PEERS)"
	[ "$DB_BACKEND" = mysql ] || one_die "HA_PEERS needs DB_BACKEND=mysql: each member copies the leader's database over the network"
	HA_PORT=${HA_RPC_PORT:-2633}
	require_port HA_RPC_PORT "$HA_PORT"
	HA_ENDPOINT="http://${HA_HOSTS[$HA_NAME]}:$HA_PORT/RPC2"
}

ha_session() {
	local auth=$ONE_ROOT/var/lib/one/.one/one_auth session
	if [ -r "$auth" ]; then session=$(head -n 1 "$auth"); else session="oneadmin:${ONEADMIN_PASSWORD:-}"; fi
	session=${session//&/&amp;}
	session=${session//</&lt;}
	printf '%s' "${session//>/&gt;}"
}

# ha_rpc HOST METHOD [<i4>N</i4>|<string>S</string>]...: one XML-RPC call with the oneadmin session; prints
# the unescaped first value of a successful answer; fails when the host does not answer or refuses.
ha_rpc() {
	local host=$1 method=$2 body param response
	shift 2
	body="<?xml version=\"1.0\"?><methodCall><methodName>$method</methodName><params><param><value><string>$(ha_session)</string></value></param>"
	for param in "$@"; do body+="<param><value>$param</value></param>"; done
	body+='</params></methodCall>'
	local request
	request=$(printf 'POST /RPC2 HTTP/1.0\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: %s\r\n\r\n%s' \
		"$host" "$(LC_ALL=C && printf '%s' "${#body}")" "$body")
	# A stopped or unreachable member must not hang the caller: the whole exchange is bounded.
	# shellcheck disable=SC2016 # expanded by the inner bash
	response=$(timeout "${HA_RPC_TIMEOUT:-10}" bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "%s" "$2" >&3 && cat <&3' \
		"$host" "$HA_PORT" "$request" 2>/dev/null) || [ -n "$response" ] || return 1
	[[ $response == *"<boolean>1</boolean>"* ]] || return 1
	response=${response#*<boolean>1</boolean>}
	response=${response#*<value>}
	response=${response#<string>}
	response=${response#<i4>}
	response=${response%%</string>*}
	response=${response%%</i4>*}
	response=${response//&lt;/<}
	response=${response//&gt;/>}
	response=${response//&quot;/\"}
	printf '%s' "${response//&amp;/&}"
}

# ha_tag NAME XML: the text of the first <NAME> element (CDATA unwrapped).
ha_tag() {
	local rest=${2#*<"$1">}
	[ "$rest" != "$2" ] || return 1
	rest=${rest%%</"$1">*}
	rest=${rest#<![CDATA[}
	printf '%s' "${rest%]]>}"
}

# ha_servers ZONE_XML: one "ID NAME ENDPOINT" line per server of the zone.
ha_servers() {
	local rest=$1 block
	while [[ $rest == *"<SERVER>"* ]]; do
		rest=${rest#*<SERVER>}
		block=${rest%%</SERVER>*}
		printf '%s %s %s\n' "$(ha_tag ID "$block")" "$(ha_tag NAME "$block")" "$(ha_tag ENDPOINT "$block")"
	done
}

# ha_id_of NAME ZONE_XML: the server id the zone gives NAME.
ha_id_of() {
	local id name
	while read -r id name _; do
		if [ "$name" = "$1" ]; then
			printf '%s' "$id"
			return 0
		fi
	done < <(ha_servers "$2")
	return 1
}

# Sets HA_LEADER (a NAME), HA_LEADER_TERM and HA_LEADER_RAFT from the members' own Raft status; two members
# may both claim leadership in different terms for a moment: the higher term wins. Fails without a leader.
ha_find_leader() {
	local name raft term
	HA_LEADER='' HA_LEADER_TERM=-1 HA_LEADER_RAFT=''
	for name in "${HA_NAMES[@]}"; do
		[ "$name" != "$HA_NAME" ] || continue
		raft=$(ha_rpc "${HA_HOSTS[$name]}" one.zone.raftstatus) || continue
		[ "$(ha_tag STATE "$raft")" = 3 ] || continue
		term=$(ha_tag TERM "$raft")
		if [ "$term" -gt "$HA_LEADER_TERM" ]; then
			HA_LEADER=$name HA_LEADER_TERM=$term HA_LEADER_RAFT=$raft
		fi
	done
	[ -n "$HA_LEADER" ]
}

ha_leader_zone() { ha_rpc "${HA_HOSTS[$HA_LEADER]}" one.zone.info '<i4>0</i4>'; }

# The oned role drops DB_PASSWORD from its environment once configured (no helper may hold it): keep it
# for ha_sql in a shell variable that is not exported, so no process's environment shows it.
ha_keep_db_password() { HA_DB_PASSWORD=${DB_PASSWORD:-}; }

ha_sql() { # ha_sql QUERY: on this member's own database
	MYSQL_PWD=${DB_PASSWORD:-${HA_DB_PASSWORD:-}} mariadb -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B -r "$DB_NAME" -e "$1" 2>/dev/null
}

ha_own_zone() { ha_sql 'SELECT body FROM zone_pool WHERE oid = 0'; }

# True when NAME and every member listed before it is in the zone, a follower (or the leader) and caught
# up with the leader's commit index: server-add of the next member waits for this, one member at a time.
ha_members_ready() {
	local zone=$1 upto=$2 commit name raft
	commit=$(ha_tag COMMIT "$HA_LEADER_RAFT")
	HA_NOT_READY=''
	for name in "${HA_NAMES[@]}"; do
		[ "$name" != "$upto" ] || return 0
		HA_NOT_READY="$name is not in the zone"
		ha_id_of "$name" "$zone" >/dev/null || return 1
		HA_NOT_READY="$name does not answer"
		raft=$(ha_rpc "${HA_HOSTS[$name]}" one.zone.raftstatus) || return 1
		HA_NOT_READY="$name is in state $(ha_tag STATE "$raft") at log index $(ha_tag LOG_INDEX "$raft") (leader's commit $commit)"
		case $(ha_tag STATE "$raft") in 2 | 3) ;; *) return 1 ;; esac
		[ "$(ha_tag LOG_INDEX "$raft")" -ge "$commit" ] || return 1
	done
}

# Restores a fresh copy of the leader's database into this member's (onedb backup there, onedb restore here).
ha_copy_leader_db() {
	local dump=$ONE_ROOT/var/lib/one/.ha/leader.sql host=${HA_HOSTS[$HA_LEADER]}
	mkdir -p "${dump%/*}"
	ha_log "copying the database of the leader $HA_LEADER ($host:$DB_PORT)"
	onedb backup -f -t mysql -S "$host" -P "$DB_PORT" -u "$DB_USER" -p "$DB_PASSWORD" -d "$DB_NAME" "$dump" >/dev/null ||
		one_die "ha: onedb backup of the leader's database ($host:$DB_PORT/$DB_NAME) failed"
	onedb restore -f "$dump" >/dev/null || one_die "ha: onedb restore of the leader's database into $DB_HOST:$DB_PORT/$DB_NAME failed"
	rm -f "$dump"
	[ -f "$ONE_ROOT/var/lib/one/.one/one_key" ] ||
		one_die "ha: $HA_NAME has the leader's database but not its credentials: /var/lib/one/.one (one_key, one_auth, the *_auth files) must be the same on every member (the chart mounts them from a Secret)"
}

# The decision before init's database checks: join, reset or rejoin with the leader, or wait for one.
ha_before_init() {
	ha_enabled || return 0
	ha_load
	local deadline=$((SECONDS + ${HA_JOIN_TIMEOUT:-900})) zone id own last gap
	while [ "$SECONDS" -lt "$deadline" ]; do
		own=$(ha_own_zone) || own=''
		if ha_find_leader && zone=$(ha_leader_zone); then
			if ! id=$(ha_id_of "$HA_NAME" "$zone"); then
				if ha_members_ready "$zone" "$HA_NAME"; then
					ha_copy_leader_db
					ha_rpc "${HA_HOSTS[$HA_LEADER]}" one.zone.addserver '<i4>0</i4>' \
						"<string>SERVER=[NAME=\"$HA_NAME\",ENDPOINT=\"$HA_ENDPOINT\"]</string>" >/dev/null ||
						one_die "ha: server-add of $HA_NAME ($HA_ENDPOINT) on the leader $HA_LEADER failed"
					ha_log "joined the zone through the leader $HA_LEADER"
					return 0
				fi
				ha_log_once "waiting for the members before $HA_NAME to be in the zone and in sync: $HA_NOT_READY"
			else
				last=$(ha_sql 'SELECT COALESCE(MAX(log_index), -1) FROM logdb') || last=-1
				gap=$(($(ha_tag LOG_INDEX "$HA_LEADER_RAFT") - last))
				if [ -z "$own" ] || [ "$gap" -gt "$(ha_retention)" ]; then
					if [ -n "$own" ]; then
						ha_log "server $id is $gap records behind the leader, past LOG_RETENTION ($(ha_retention)): reset"
					else
						ha_log "server $id has an empty database: reset"
					fi
					ha_copy_leader_db
					ha_rpc "${HA_HOSTS[$HA_LEADER]}" one.zone.resetserver '<i4>0</i4>' "<i4>$id</i4>" >/dev/null ||
						one_die "ha: server-reset of $id on the leader $HA_LEADER failed"
				else
					ha_log "rejoining as server $id ($gap records behind the leader $HA_LEADER)"
				fi
				return 0
			fi
		elif [ -n "$own" ] && id=$(ha_id_of "$HA_NAME" "$own"); then
			ha_log "no leader answers; server $id starts from its own database and Raft elects"
			return 0
		elif [ "$HA_NAME" = "${HA_NAMES[0]}" ] && ! ha_cluster_anywhere; then
			return 0 # ha_after_init bootstraps
		else
			ha_log_once "waiting for a leader"
		fi
		sleep 2
	done
	one_die "ha: $HA_NAME found no leader to join within ${HA_JOIN_TIMEOUT:-900}s (HA_JOIN_TIMEOUT)"
}

ha_retention() { printf '%s' "${HA_LOG_RETENTION:-250000}"; }

# True when any other member answers with a zone that has servers: a cluster exists, never bootstrap another.
ha_cluster_anywhere() {
	local name zone
	for name in "${HA_NAMES[@]}"; do
		[ "$name" != "$HA_NAME" ] || continue
		zone=$(ha_rpc "${HA_HOSTS[$name]}" one.zone.info '<i4>0</i4>') || continue
		[[ $zone != *"<SERVER>"* ]] || return 0
	done
	return 1
}

# After init: the first member, with no cluster anywhere, runs oned solo once on its database (bootstrapping
# an empty one, or keeping a single front-end's: 1 -> 3), adds itself to the zone and stops it.
ha_after_init() {
	ha_enabled || return 0
	local own
	own=$(ha_own_zone) || own=''
	if [ -n "$own" ] && ha_id_of "$HA_NAME" "$own" >/dev/null; then return 0; fi
	if ha_find_leader && ha_id_of "$HA_NAME" "$(ha_leader_zone)" >/dev/null; then return 0; fi
	[ "$HA_NAME" = "${HA_NAMES[0]}" ] || return 0
	ha_log "bootstrapping the zone with $HA_NAME as its first server"
	configure_ha_solo
	local attempt
	for attempt in 1 2 3; do
		if ha_bootstrap_once; then break; fi
		[ "$attempt" -lt 3 ] || one_die "ha: oned (solo, to bootstrap the zone) failed three times"
		ha_log "oned (solo) failed (attempt $attempt; a loaded node can be slower than oned's driver start): again"
	done
	ha_log "zone bootstrapped: $HA_NAME is its first server"
}

# One solo oned: waits for its XML-RPC, adds this member to the zone, stops it. Fails (with oned's errors)
# when oned exits first, or does not answer within 300 s.
ha_bootstrap_once() {
	local pid waited=0 log oned=(env -u DB_PASSWORD -u ONEADMIN_PASSWORD HOME=/var/lib/one USER=oneadmin /usr/bin/oned -f)
	# A simple command, not as_oneadmin (a function: its subshell would take the signal, not oned).
	if [ "$(id -u)" -eq 0 ]; then
		oned=(setpriv --reuid="$ONEADMIN_UID" --regid="$ONEADMIN_GID" --init-groups -- "${oned[@]}")
	fi
	log=$(mktemp)
	"${oned[@]}" >"$log" 2>&1 &
	pid=$!
	until ha_rpc 127.0.0.1 one.zone.info '<i4>0</i4>' >/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 300 ]; then
			kill -TERM "$pid" 2>/dev/null && wait "$pid"
			ha_log "oned (solo) did not come up: $(grep -E '\[E\]|Could not' "$log" | grep -v MKP | tail -n 5)"
			rm -f "$log"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	ha_rpc 127.0.0.1 one.zone.addserver '<i4>0</i4>' \
		"<string>SERVER=[NAME=\"$HA_NAME\",ENDPOINT=\"$HA_ENDPOINT\"]</string>" >/dev/null ||
		one_die "ha: server-add of $HA_NAME to its own zone failed"
	kill -TERM "$pid"
	wait "$pid" || true
	rm -f "$log"
}

# FEDERATION for a solo oned (the bootstrap above).
configure_ha_solo() {
	set_template_block "$ONE_ROOT/etc/one/oned.conf" FEDERATION 'FEDERATION = [ MODE = "STANDALONE", ZONE_ID = 0, SERVER_ID = -1, MASTER_ONED = "" ]'
}

# oned: SERVER_ID resolved by name (the leader's zone, else this member's own database), the RAFT block and
# the hooks; oned then runs under ha-oned.
ha_configure_oned() {
	ha_enabled || return 0
	ha_load
	local file=$ONE_ROOT/etc/one/oned.conf id='' lib=${LIB:-/usr/local/lib/opennebula-container}
	if ha_find_leader; then id=$(ha_id_of "$HA_NAME" "$(ha_leader_zone)") || id=''; fi
	[ -n "$id" ] || id=$(ha_id_of "$HA_NAME" "$(ha_own_zone)") ||
		one_die "ha: $HA_NAME is not a server of the zone (neither the leader's nor its own database lists it): run the init role first"
	set_template_block "$file" FEDERATION "FEDERATION = [ MODE = \"STANDALONE\", ZONE_ID = 0, SERVER_ID = $id, MASTER_ONED = \"\" ]"
	set_template_block "$file" RAFT "RAFT = [
    LIMIT_PURGE          = 100000,
    LOG_RETENTION        = $(ha_retention),
    LOG_PURGE_TIMEOUT    = ${HA_LOG_PURGE_TIMEOUT:-60},
    ELECTION_TIMEOUT_MS  = ${HA_ELECTION_TIMEOUT_MS:-5000},
    BROADCAST_TIMEOUT_MS = ${HA_BROADCAST_TIMEOUT_MS:-500},
    XMLRPC_TIMEOUT_MS    = ${HA_XMLRPC_TIMEOUT_MS:-1000}
]"
	set_template_block "$file" RAFT_LEADER_HOOK "RAFT_LEADER_HOOK = [ COMMAND = \"$lib/ha-hook\", ARGUMENTS = \"leader\" ]"
	set_template_block "$file" RAFT_FOLLOWER_HOOK "RAFT_FOLLOWER_HOOK = [ COMMAND = \"$lib/ha-hook\", ARGUMENTS = \"follower\" ]"
	ha_log "$HA_NAME is server $id of zone 0 ($HA_ENDPOINT)"
	ha_catch_up &
}

# A leader replicates a log record to a follower when it appends the next one: a member that joined last
# does not receive its own server-add (nor anything before it) until something writes. Once this member's
# oned follows, a stay behind the leader's log for 5 s is ended by an empty append to the zone's template
# (a replicated no-op write, forwarded to the leader).
ha_catch_up() {
	local deadline=$((SECONDS + 600)) raft behind=0
	while [ "$SECONDS" -lt "$deadline" ]; do
		sleep 5
		raft=$(ha_rpc 127.0.0.1 one.zone.raftstatus) || continue
		case $(ha_tag STATE "$raft") in 3) return 0 ;; 2) ;; *) continue ;; esac
		ha_find_leader || continue
		if [ "$(ha_tag LOG_INDEX "$raft")" -ge "$(ha_tag LOG_INDEX "$HA_LEADER_RAFT")" ]; then return 0; fi
		behind=$((behind + 1))
		[ "$behind" -ge 2 ] || continue
		ha_log "behind the leader $HA_LEADER's log while idle: a no-op write to replicate it"
		ha_rpc 127.0.0.1 one.zone.update '<i4>0</i4>' '<string></string>' '<i4>1</i4>' >/dev/null || true
		behind=0
	done
}

# The oned command under ha-oned (follower clean-up when oned ends), when HA is on.
ha_wrap_oned() {
	ha_enabled || return 0
	ROLE_COMMAND=("${LIB:-/usr/local/lib/opennebula-container}/ha-oned" "${ROLE_COMMAND[@]}")
}

# Readiness of an HA member (`opennebula-entrypoint probe raft`): ready when the local oned follows or leads
# (solo passes too); a candidate, or an oned that does not answer, is not ready.
ha_probe() {
	local raft state
	HA_PORT=${HA_RPC_PORT:-2633}
	raft=$(ha_rpc 127.0.0.1 one.zone.raftstatus) || one_die "probe raft: oned does not answer on 127.0.0.1:$HA_PORT"
	state=$(ha_tag STATE "$raft")
	case $state in
	0) printf 'raft: solo\n' ;;
	2) printf 'raft: follower (term %s)\n' "$(ha_tag TERM "$raft")" ;;
	3) printf 'raft: leader (term %s)\n' "$(ha_tag TERM "$raft")" ;;
	*) one_die "probe raft: state $state (candidate): not ready" ;;
	esac
}
