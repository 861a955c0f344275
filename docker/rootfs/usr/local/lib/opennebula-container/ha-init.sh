# shellcheck shell=bash
# High availability, the init role's part (sourced by ha.sh, which describes the whole): before init's
# database checks, whether this member joins, resets, rejoins, bootstraps, upgrades its own database,
# restores the one the member with the most up-to-date Raft log upgraded, or waits (ha_before_init); after
# them, the first member's bootstrap (ha_after_init).

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

# Restores a fresh copy of member NAME's database into this member's. mariadb-dump and mariadb, with the
# password in their environment: onedb backup and onedb restore put it on command lines (theirs, and the
# shell's they run mysqldump and mysql in), which any user of the node can read in /proc/*/cmdline.
ha_copy_db() { # ha_copy_db NAME
	local dump=$ONE_ROOT/var/lib/one/.ha/copy.sql host=${HA_DBS[$1]} table drops=''
	local client=(-P "$DB_PORT" -u "$DB_USER")
	mkdir -p "${dump%/*}"
	ha_log "copying the database of $1 ($host:$DB_PORT)"
	(umask 077 && MYSQL_PWD=$(ha_db_password) mariadb-dump -h "$host" "${client[@]}" --single-transaction \
		--routines --add-drop-table "$DB_NAME" >"$dump") ||
		one_die "ha: copying the database of $1 ($host:$DB_PORT/$DB_NAME) failed (mariadb-dump)"
	# Tables of this member's database that the copy lacks (a schema older than the copy's) go too.
	while read -r table; do drops+="DROP TABLE IF EXISTS \`$table\`;"; done < <(ha_sql 'SHOW TABLES')
	{ printf 'SET FOREIGN_KEY_CHECKS = 0; %s\n' "$drops" && cat "$dump"; } |
		MYSQL_PWD=$(ha_db_password) mariadb -h "$DB_HOST" "${client[@]}" "$DB_NAME" ||
		one_die "ha: restoring the database of $1 into $DB_HOST:$DB_PORT/$DB_NAME failed"
	rm -f "$dump"
	[ -f "$ONE_ROOT/var/lib/one/.one/one_key" ] ||
		one_die "ha: $HA_NAME has the database of $1 but not its credentials: /var/lib/one/.one (one_key, one_auth, the *_auth files) must be the same on every member (the chart mounts them from a Secret)"
}

# The version of OpenNebula member NAME's oned runs, or nothing when it does not answer.
ha_version_of() { ha_rpc "${HA_HOSTS[$1]}" one.system.version || true; }

ha_stop_all() { # the message of a member that meets another version
	printf '%s' "never a rolling update across OpenNebula versions: stop every member (kubectl scale statefulset <sts> --replicas 0), then helm upgrade again (or scale up again): with no member running, the member whose Raft log is most up to date upgrades its database and the others restore a copy of it"
}

# The decision before init's database checks: join, reset or rejoin with the leader, or wait for one.
ha_before_init() {
	ha_enabled || return 0
	ha_load
	local deadline=$((SECONDS + ${HA_JOIN_TIMEOUT:-900})) zone id own
	while [ "$SECONDS" -lt "$deadline" ]; do
		own=$(ha_own_zone) || own=''
		if ha_find_leader && zone=$(ha_leader_zone); then
			if ha_with_leader "$own" "$zone"; then return 0; fi
		elif [ -n "$own" ] && id=$(ha_id_of "$HA_NAME" "$own"); then
			if ha_without_leader "$id"; then return 0; fi
		elif [ "$HA_NAME" = "${HA_NAMES[0]}" ] && ! ha_cluster_anywhere; then
			return 0 # ha_after_init bootstraps
		else
			ha_log_once "waiting for a leader"
		fi
		sleep 2
	done
	one_die "ha: $HA_NAME found no leader to join within ${HA_JOIN_TIMEOUT:-900}s (HA_JOIN_TIMEOUT): $HA_LAST_LOG"
}

# With a leader: at another OpenNebula version, wait (fails); not in its zone, join by copy when it is this
# member's turn; in it, rejoin, or reset by copy when this member's database is empty, older than the
# image's schema, or behind the leader by more than LOG_RETENTION. Fails to wait.
ha_with_leader() {
	local own=$1 zone=$2 id last gap version
	version=$(ha_version_of "$HA_LEADER")
	if [ "$version" != "$(one_version)" ]; then
		ha_log_once "the leader $HA_LEADER runs OpenNebula ${version:-(no answer)}, this image $(one_version): waiting, not ready; $(ha_stop_all)"
		return 1
	fi
	if ! id=$(ha_id_of "$HA_NAME" "$zone"); then
		if ! ha_members_ready "$zone" "$HA_NAME"; then
			ha_log_once "waiting for the members before $HA_NAME to be in the zone and in sync: $HA_NOT_READY"
			return 1
		fi
		ha_copy_db "$HA_LEADER"
		ha_rpc "${HA_HOSTS[$HA_LEADER]}" one.zone.addserver '<i4>0</i4>' \
			"<string>SERVER=[NAME=\"$HA_NAME\",ENDPOINT=\"$HA_ENDPOINT\"]</string>" >/dev/null ||
			one_die "ha: server-add of $HA_NAME ($HA_ENDPOINT) on the leader $HA_LEADER failed"
		ha_log "joined the zone through the leader $HA_LEADER"
		return 0
	fi
	last=$(ha_sql 'SELECT COALESCE(MAX(log_index), -1) FROM logdb') || last=-1
	gap=$(($(ha_tag LOG_INDEX "$HA_LEADER_RAFT") - last))
	if [ -z "$own" ]; then
		ha_log "server $id has an empty database: reset"
	elif [ "$gap" -gt "$(ha_retention)" ]; then
		ha_log "server $id is $gap records behind the leader, past LOG_RETENTION ($(ha_retention)): reset"
	elif [ "$(database_state)" = 2 ]; then
		ha_log "server $id has a database older than OpenNebula $(one_version), the leader's version: reset (never upgraded here)"
	else
		ha_log "rejoining as server $id ($gap records behind the leader $HA_LEADER)"
		return 0
	fi
	ha_copy_db "$HA_LEADER"
	ha_rpc "${HA_HOSTS[$HA_LEADER]}" one.zone.resetserver '<i4>0</i4>' "<i4>$id</i4>" >/dev/null ||
		one_die "ha: server-reset of $id on the leader $HA_LEADER failed"
}

# Without a leader, on this member's own database (server ID): start and let Raft elect, unless the
# database is older than the image's schema. Then, once no member runs another version, every member
# decides the same upgrader from the members' databases (ha_upgrader: the most up-to-date Raft log, as
# OpenNebula's procedure upgrades the leader's database), which upgrades its own (init's usual upgrade);
# the others wait until its database has this image's schema (its oned cannot answer before a quorum runs
# it) and restore a copy of it. Fails to wait.
ha_without_leader() {
	local id=$1 name version
	for name in "${HA_NAMES[@]}"; do
		[ "$name" != "$HA_NAME" ] || continue
		version=$(ha_version_of "$name")
		if [ -n "$version" ] && [ "$version" != "$(one_version)" ]; then
			ha_log_once "$name runs OpenNebula $version, this image $(one_version): waiting, not ready; $(ha_stop_all)"
			return 1
		fi
	done
	ha_schema || return 1
	if [ "$HA_SCHEMA_STATE" != 2 ]; then
		ha_log "no leader answers; server $id starts from its own database and Raft elects"
		return 0
	fi
	ha_upgrader || return 1
	if [ "$HA_UPGRADER" = "$HA_NAME" ]; then
		ha_log "no leader answers; server $id's database is older than OpenNebula $(one_version) and has $HA_UPGRADE_WHY: $HA_NAME upgrades its own, the others restore a copy of it"
		return 0
	fi
	if [ "$(ha_schema_of "$HA_UPGRADER")" != "$HA_SCHEMA" ]; then
		ha_log_once "server $id's database is older than OpenNebula $(one_version): waiting for $HA_UPGRADER ($HA_UPGRADE_WHY) to upgrade its own to schema $HA_SCHEMA (this member then restores a copy of it; it never upgrades its own)"
		return 1
	fi
	ha_copy_db "$HA_UPGRADER"
	ha_log "server $id restored the database $HA_UPGRADER upgraded to OpenNebula $(one_version); Raft elects"
}

# Sets HA_UPGRADER, the member whose database an upgrade with no leader starts from, and HA_UPGRADE_WHY:
# a member whose database has this image's schema already (it upgraded), else the member whose Raft log is
# most up to date, its last logdb record's (term, log_index) compared term first, then index (as a Raft
# election compares logs: the one a new leader would have), ties by HA_PEERS order. Every member reads every
# member's database, so every member decides the same. Fails (logged: waiting, not ready) while a member's
# database cannot be read: never a guess that could upgrade a lagging member's and lose committed writes.
ha_upgrader() {
	local name last best=''
	HA_UPGRADER=''
	for name in "${HA_NAMES[@]}"; do
		[ "$(ha_schema_of "$name")" != "$HA_SCHEMA" ] || {
			HA_UPGRADER=$name HA_UPGRADE_WHY="a database upgraded to schema $HA_SCHEMA already"
			return 0
		}
	done
	for name in "${HA_NAMES[@]}"; do
		if ! last=$(ha_last_log "$name"); then
			ha_log_once "no leader answers and the database of $name (${HA_DBS[$name]}:$DB_PORT/$DB_NAME) cannot be read: waiting, not ready (the upgrade starts from the member whose Raft log is most up to date, which every member's database tells)"
			HA_UPGRADER=''
			return 1
		fi
		# shellcheck disable=SC2086 # "TERM INDEX"
		if [ -z "$best" ] || ha_log_newer $last $best; then HA_UPGRADER=$name best=$last; fi
	done
	HA_UPGRADE_WHY="the most up-to-date Raft log (term ${best% *}, index ${best#* })"
}

# "TERM INDEX" of member NAME's last Raft log record (logdb, as OpenNebula's LogDB reads its last term and
# index; "-1 -1": a database without a log). Fails when the database does not answer.
ha_last_log() {
	local host=${HA_DBS[$1]} last
	if last=$(ha_sql 'SELECT term, log_index FROM logdb ORDER BY log_index DESC LIMIT 1' "$host"); then
		[ -n "$last" ] || last='-1 -1'
		[[ $last =~ ^(-?[0-9]+)[[:space:]]+(-?[0-9]+)$ ]] || return 1
		printf '%s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
	elif ha_sql 'SELECT 1' "$host" >/dev/null && [ -z "$(ha_sql "SHOW TABLES LIKE 'logdb'" "$host")" ]; then
		printf '%s' '-1 -1'
	else
		return 1
	fi
}

# True when the log ending at TERM1 INDEX1 is more up to date than the one ending at TERM2 INDEX2.
ha_log_newer() { [ "$1" -gt "$3" ] || { [ "$1" -eq "$3" ] && [ "$2" -gt "$4" ]; }; }

# HA_SCHEMA_STATE (onedb version's exit: 0 current, 1 empty, 2 older, 3 newer) of this member's database
# and HA_SCHEMA, the schema versions this image's onedb requires ("SHARED LOCAL"). Fails (logged) when
# onedb cannot tell.
ha_schema() {
	local output rc=0
	output=$(onedb version 2>&1) || rc=$?
	case $rc in
	0 | 1 | 2 | 3) ;;
	*)
		ha_log_once "onedb version failed (exit $rc): ${output//$'\n'/ }"
		return 1
		;;
	esac
	HA_SCHEMA_STATE=$rc
	HA_SCHEMA="$(sed -n 's/^Required shared version: *//p' <<<"$output") $(sed -n 's/^Required local version: *//p' <<<"$output")"
}

# The schema versions ("SHARED LOCAL") of member NAME's database, read from its db_versioning tables.
ha_schema_of() {
	ha_sql "SELECT CONCAT((SELECT version FROM db_versioning ORDER BY oid DESC LIMIT 1), ' ',
		(SELECT version FROM local_db_versioning ORDER BY oid DESC LIMIT 1))" "${HA_DBS[$1]}"
}

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
