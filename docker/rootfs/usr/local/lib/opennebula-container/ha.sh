# shellcheck shell=bash
# High availability: OpenNebula's own Raft between front-ends, each with its own database (OpenNebula 7.4's
# front-end HA guide, done by the roles instead of by hand). Off unless HA_PEERS is set.
#
#   HA_PEERS        every member as NAME=HOST, space-separated, in a fixed order ("one-0=10.0.0.1 ..."); the
#                   first one alone may bootstrap a new cluster. HOST serves oned's XML-RPC on HA_RPC_PORT and,
#                   without HA_DB_HOSTS, this member's database on DB_PORT (same DB_NAME, DB_USER and
#                   DB_PASSWORD everywhere).
#   HA_DB_HOSTS     optional: each member's own database host as NAME=DBHOST, the same names: this member's
#                   DB_HOST defaults to its entry (a different DB_HOST is an error), and a copy of the
#                   leader's database is read from the leader's DBHOST.
#   HA_SERVER_NAME  this member's NAME (default: the host name); FEDERATION/SERVER_ID is the id the zone gives
#                   that NAME, never an ordinal.
#   HA_LOG_RETENTION, HA_LOG_PURGE_TIMEOUT, HA_ELECTION_TIMEOUT_MS, HA_BROADCAST_TIMEOUT_MS,
#   HA_XMLRPC_TIMEOUT_MS  the RAFT block (packaged defaults when unset).
#   HA_JOIN_TIMEOUT seconds a member waits for a leader (or its turn) before failing (default 900).
#
# init (before the database checks; ha-init.sh): a member the zone lacks, or whose database is empty, older
# than the image's schema or further behind the leader than LOG_RETENTION, restores a copy of the leader's
# database (mariadb-dump there, mariadb here), then is added (server-add, one member at a time: it waits
# until every member before it in HA_PEERS is in the zone and caught up) or reset (server-reset). A leader
# at another OpenNebula version is never joined: the member waits, saying to stop every member. Without a
# leader, only the first member with no cluster anywhere bootstraps: oned solo on its database (an empty one,
# or a solo front-end's, which keeps its data: 1 -> 3), server-add of itself, stop (ha_after_init). A member
# whose own database names it rejoins as a follower and Raft elects; if that database is older than the
# image's schema, the member whose Raft log is most up to date (its last logdb record's term, then index,
# read from every member's database; ties by HA_PEERS order) upgrades its own (init's usual upgrade) and the
# others restore a copy of it. oned: SERVER_ID by name, the RAFT block and the hooks (ha-hook), and oned run under ha-oned, which runs
# the follower hook when oned ends however it ends (the packaged unit's follower_cleanup).

# shellcheck source=docker/rootfs/usr/local/lib/opennebula-container/ha-init.sh
source "${BASH_SOURCE[0]%/*}/ha-init.sh"
# shellcheck source=docker/rootfs/usr/local/lib/opennebula-container/ha-gate.sh
source "${BASH_SOURCE[0]%/*}/ha-gate.sh"

ha_enabled() { [ -n "${HA_PEERS:-}" ]; }

ha_log() { one_log "ha: $*"; }

HA_LAST_LOG=''
ha_log_once() { # a waiting loop's message, once until it changes
	[ "$*" = "$HA_LAST_LOG" ] || ha_log "$*"
	HA_LAST_LOG=$*
}

# ha_members VAR ARRAY: parses VAR's "NAME=HOST ..." into the associative array ARRAY (and HA_LISTED, the
# names in order); an entry that is not NAME=HOST, or a name listed twice, is an error naming VAR.
ha_members() {
	local var=$1 entry
	local -n into=$2
	HA_LISTED=()
	for entry in ${!var}; do
		[[ $entry =~ ^([A-Za-z0-9._-]+)=([A-Za-z0-9.:-]+)$ ]] || one_die "$var: \"$entry\" is not NAME=HOST"
		[ -z "${into[${BASH_REMATCH[1]}]:-}" ] || one_die "$var: ${BASH_REMATCH[1]} is listed twice"
		HA_LISTED+=("${BASH_REMATCH[1]}")
		# shellcheck disable=SC2004 # into is associative (a name reference to the caller's array)
		into[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	done
}

# Parses HA_PEERS into HA_NAMES (ordered) and HA_HOSTS[name], HA_DB_HOSTS into HA_DBS[name] (each member's
# own database host; its oned's HOST when HA_DB_HOSTS is unset); checks HA_SERVER_NAME is one of them.
ha_load() {
	declare -gA HA_HOSTS=() HA_DBS=()
	ha_members HA_PEERS HA_HOSTS
	HA_NAMES=("${HA_LISTED[@]}")
	case ${#HA_NAMES[@]} in
	3 | 5) ;;
	*) one_die "HA_PEERS: ${#HA_NAMES[@]} members; Raft needs 3 or 5 (an even number adds no fault tolerance)" ;;
	esac
	HA_NAME=${HA_SERVER_NAME:-$(hostname)}
	[ -n "${HA_HOSTS[$HA_NAME]:-}" ] || one_die "HA_SERVER_NAME: \"$HA_NAME\" is not in HA_PEERS ($HA_PEERS)"
	[ "$DB_BACKEND" = mysql ] || one_die "HA_PEERS needs DB_BACKEND=mysql: each member copies the leader's database over the network"
	local name
	if [ -n "${HA_DB_HOSTS:-}" ]; then
		ha_members HA_DB_HOSTS HA_DBS
		for name in "${HA_LISTED[@]}"; do
			[ -n "${HA_HOSTS[$name]:-}" ] || one_die "HA_DB_HOSTS: $name is not in HA_PEERS ($HA_PEERS)"
		done
		for name in "${HA_NAMES[@]}"; do
			[ -n "${HA_DBS[$name]:-}" ] || one_die "HA_DB_HOSTS: no entry for $name (every member of HA_PEERS needs its database's host)"
		done
	else
		for name in "${HA_NAMES[@]}"; do HA_DBS[$name]=${HA_HOSTS[$name]}; done
	fi
	HA_PORT=${HA_RPC_PORT:-2633}
	require_port HA_RPC_PORT "$HA_PORT"
	HA_ENDPOINT="http://${HA_HOSTS[$HA_NAME]}:$HA_PORT/RPC2"
}

# The config step, before it checks DB_HOST: with HA_DB_HOSTS, this member's database is its entry there
# (DB_HOST may repeat it, never contradict it).
ha_db_host() {
	[ -n "${HA_DB_HOSTS:-}" ] || return 0
	ha_enabled || one_die "HA_DB_HOSTS is set but HA_PEERS is not: it names the databases of an HA cluster's members"
	ha_load
	local own=${HA_DBS[$HA_NAME]}
	if [ -n "${DB_HOST:-}" ] && [ "$DB_HOST" != "$own" ]; then
		one_die "DB_HOST \"$DB_HOST\" contradicts HA_DB_HOSTS, which gives $HA_NAME=$own: set one of them, or both the same"
	fi
	DB_HOST=$own
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

ha_db_password() { printf '%s' "${DB_PASSWORD:-${HA_DB_PASSWORD:-}}"; }

ha_sql() { # ha_sql QUERY [DBHOST]: on this member's own database (or on DBHOST's)
	MYSQL_PWD=$(ha_db_password) mariadb -h "${2:-$DB_HOST}" -P "$DB_PORT" -u "$DB_USER" -N -B -r "$DB_NAME" -e "$1" 2>/dev/null
}

ha_own_zone() { ha_sql 'SELECT body FROM zone_pool WHERE oid = 0'; }

ha_retention() { printf '%s' "${HA_LOG_RETENTION:-250000}"; }

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
	HA_PORT=${HA_RPC_PORT:-2633}
	ha_local_raft
	case $HA_RAFT_STATE in
	unanswered) one_die "probe raft: oned does not answer on 127.0.0.1:$HA_PORT" ;;
	solo) printf 'raft: solo\n' ;;
	follower | leader) printf 'raft: %s (term %s)\n' "$HA_RAFT_STATE" "$HA_RAFT_TERM" ;;
	*) one_die "probe raft: state $HA_RAFT_STATE_ID ($HA_RAFT_STATE): not ready" ;;
	esac
}

# ha_local_raft: HA_RAFT_STATE, this member's Raft state as the local oned (127.0.0.1:HA_PORT) reports it
# (leader, follower, candidate, solo, unanswered, or unknown), HA_RAFT_STATE_ID its number in
# one.zone.raftstatus, and HA_RAFT_TERM its term when known.
ha_local_raft() {
	local raft
	HA_RAFT_STATE=unanswered HA_RAFT_STATE_ID='' HA_RAFT_TERM=''
	raft=$(ha_rpc 127.0.0.1 one.zone.raftstatus) || return 0
	HA_RAFT_TERM=$(ha_tag TERM "$raft") || HA_RAFT_TERM=''
	HA_RAFT_STATE_ID=$(ha_tag STATE "$raft") || HA_RAFT_STATE_ID=''
	case $HA_RAFT_STATE_ID in
	0) HA_RAFT_STATE=solo ;;
	1) HA_RAFT_STATE=candidate ;;
	2) HA_RAFT_STATE=follower ;;
	3) HA_RAFT_STATE=leader ;;
	*) HA_RAFT_STATE=unknown ;;
	esac
}
