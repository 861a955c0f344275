# shellcheck shell=bash
# The restore Job's script (bash): puts one backup written by files/backup.sh back, while the front-end is
# stopped (restore.enabled scales it to 0): the dump is verified first, then the script waits until the
# front-end's database user has no session left (RESTORE_WAIT_SECONDS; oned holds its connections while it
# runs, also during its grace period), then every table of the database is dropped and the dump loaded,
# then /var/lib/one/.one, .ssh and .ssh-host-keys are replaced by the archived ones. Any failure fails the
# Job, loudly, before anything is changed when the backup itself is bad or the front-end still runs; a
# failed run can be run again with the same backup.
# Or, to roll back a schema upgrade, the dump init took before it (onedb-before-<version>-<time>.sql in
# the front-end's volume's backups/): the database only; the credentials stay as they are.
# Environment: DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE BACKUP_DIR RESTORE_WAIT_SECONDS
# FRONTEND_SELECTOR (the front-end pods' labels; empty: no Kubernetes API to ask) SERVICEACCOUNT_DIR
# KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT S3_BUCKET S3_PREFIX S3_CLIENT (as for the backup)
# RESTORE_BACKUP (the backup's
# name, opennebula-<time> or onedb-before-<version>-<time>) ONE_DIR (empty: the front-end has no volume,
# only the database is restored).
set -Eeuo pipefail
umask 077

fail() {
	echo "restore FAILED: $*" >&2
	exit 1
}

for name in DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE RESTORE_BACKUP; do
	[ -n "${!name:-}" ] || fail "$name is not set"
done
credentials=''
if [[ "$RESTORE_BACKUP" =~ ^opennebula-[0-9]{8}T[0-9]{6}Z$ ]]; then
	[ -n "${BACKUP_DIR:-}" ] || fail "BACKUP_DIR is not set"
	dump="$BACKUP_DIR/$RESTORE_BACKUP.sql.gz"
	[ -z "${ONE_DIR:-}" ] || credentials="$BACKUP_DIR/$RESTORE_BACKUP.one.tar.gz"
elif [[ "$RESTORE_BACKUP" =~ ^onedb-before-[0-9]+(\.[0-9]+)+-[0-9]{8}T[0-9]{6}Z$ ]]; then
	[ -n "${ONE_DIR:-}" ] ||
		fail "$RESTORE_BACKUP is a dump init kept on the front-end's volume, and this front-end has none (persistence.enabled=false)"
	dump="$ONE_DIR/backups/$RESTORE_BACKUP.sql"
else
	fail "RESTORE_BACKUP must name a backup as opennebula-<YYYYMMDDTHHMMSSZ> or onedb-before-<version>-<YYYYMMDDTHHMMSSZ>, got '$RESTORE_BACKUP' (ls the backup claim, or backups/ on the front-end's volume)"
fi
# A backup that is only in the bucket (backup.s3: the cluster's storage was lost) is fetched into the
# backup claim first, each file under a temporary name until it is whole.
if [ ! -f "$dump" ] && [ -n "${S3_BUCKET:-}" ] && [[ "$RESTORE_BACKUP" == opennebula-* ]]; then
	s3() { ruby -e "$S3_CLIENT" "$@"; }
	for file in ${credentials:+"$credentials"} "$dump"; do
		s3 get "${S3_PREFIX:-}${file##*/}" "$file.part" || { rm -f "$file.part"; fail "fetching ${file##*/} from s3://$S3_BUCKET/${S3_PREFIX:-} failed"; }
		mv "$file.part" "$file"
	done
fi
[ -f "$dump" ] || fail "there is no $dump"
[ -r "$DB_PASSWORD_FILE" ] || fail "cannot read the database password file $DB_PASSWORD_FILE"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
{
	echo '[client]'
	printf 'password="%s"\n' "$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$DB_PASSWORD_FILE")"
} >"$work/client.cnf"
db() { mariadb --defaults-extra-file="$work/client.cnf" --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" "$@"; }

# Everything is checked before anything changes.
verify_dump "$dump" # files/dump.sh
# A dump made with --databases names its database (USE): loaded into another, it would refill that one.
# shellcheck disable=SC2016 # the backquotes quote an SQL identifier
used="$(dump_text "$dump" | sed -n 's/^USE `\(.*\)`;$/\1/p' | sort -u)"
if [ -n "$used" ] && [ "$used" != "$DB_NAME" ]; then
	fail "$dump is a dump of database ${used//$'\n'/ }, not of $DB_NAME: restore it into that database (DB_NAME) or from a dump of $DB_NAME"
fi
if [ -n "$credentials" ]; then
	[ -f "$credentials" ] || fail "there is no $credentials (the front-end's credentials saved with the dump)"
	tar -tzf "$credentials" .one/one_key >/dev/null || fail "$credentials does not hold .one/one_key"
	{ [ -d "$ONE_DIR" ] && [ -w "$ONE_DIR" ]; } || fail "the front-end's volume is not mounted writable at $ONE_DIR"
fi
wait_seconds=${RESTORE_WAIT_SECONDS:-300}
[[ "$wait_seconds" =~ ^[0-9]+$ ]] || fail "RESTORE_WAIT_SECONDS must be a whole number of seconds, got '$wait_seconds'"
waited=0

# The front-end's pod must be gone (it still writes the volume and the database during its grace period):
# the pods matching FRONTEND_SELECTOR, listed with the Job's ServiceAccount (its Role may list pods only).
frontend_pods() {
	ruby -rjson -rnet/http -ropenssl -e '
		account = ENV.fetch("SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
		namespace = File.read(File.join(account, "namespace")).strip
		http = Net::HTTP.new(ENV.fetch("KUBERNETES_SERVICE_HOST"), Integer(ENV.fetch("KUBERNETES_SERVICE_PORT")))
		http.use_ssl = true
		http.ca_file = File.join(account, "ca.crt")
		http.open_timeout = http.read_timeout = 10
		path = "/api/v1/namespaces/#{namespace}/pods?labelSelector=#{URI.encode_www_form_component(ENV.fetch("FRONTEND_SELECTOR"))}"
		answer = http.get(path, "Authorization" => "Bearer #{File.read(File.join(account, "token")).strip}")
		abort("HTTP #{answer.code} #{answer.body}") unless answer.code == "200"
		puts JSON.parse(answer.body).fetch("items").map { |pod| pod["metadata"]["name"] }.join(" ")
	' 2>"$work/api.err" || fail "cannot list the front-end's pods in the Kubernetes API: $(cat "$work/api.err")"
}
if [ -n "${FRONTEND_SELECTOR:-}" ]; then
	while pods="$(frontend_pods)" && [ -n "$pods" ]; do
		[ "$waited" -lt "$wait_seconds" ] ||
			fail "front-end pod(s) $pods still exist in $(cat "${SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}/namespace") after $wait_seconds s: restore mode scales the front-end to 0; is something else running it? Nothing was changed."
		if [ $((waited % 10)) -eq 0 ]; then echo "waiting for front-end pod(s) $pods to stop"; fi
		sleep 1
		waited=$((waited + 1))
	done
fi

tables="$(db --batch --skip-column-names -e "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()" "$DB_NAME" 2>"$work/db.err")" ||
	fail "cannot reach database $DB_NAME on $DB_HOST:$DB_PORT: $(cat "$work/db.err")"

# The front-end must have stopped: no session of its user but this one (a user sees its own sessions).
sessions() {
	db --batch --skip-column-names -e "SELECT COUNT(*) FROM information_schema.processlist WHERE user = SUBSTRING_INDEX(USER(), '@', 1) AND id <> CONNECTION_ID()" 2>"$work/db.err" ||
		fail "cannot list the sessions of $DB_USER on $DB_HOST:$DB_PORT: $(cat "$work/db.err")"
}
while count="$(sessions)" && [ "$count" -gt 0 ]; do
	[ "$waited" -lt "$wait_seconds" ] ||
		fail "$DB_USER still has $count session(s) on $DB_HOST:$DB_PORT after $wait_seconds s: is the front-end still running? Nothing was changed."
	if [ $((waited % 10)) -eq 0 ]; then echo "waiting for $count session(s) of $DB_USER on $DB_NAME to end (the front-end stopping)"; fi
	sleep 1
	waited=$((waited + 1))
done

echo "restoring $dump into $DB_NAME on $DB_HOST:$DB_PORT"
# Tables a newer schema added are not in the dump: drop them all, so the database is exactly the backup.
{
	echo 'SET FOREIGN_KEY_CHECKS = 0;'
	while IFS= read -r table; do
		# shellcheck disable=SC2016 # the backquotes quote an SQL identifier
		if [ -n "$table" ]; then printf 'DROP TABLE `%s`;\n' "${table//\`/\`\`}"; fi
	done <<<"$tables"
	dump_text "$dump" # files/dump.sh
} | db "$DB_NAME" || fail "loading $dump into $DB_NAME failed"

if [ -n "$credentials" ]; then
	# Each directory the archive holds (older backups have .one only) replaces the volume's, by rename.
	mapfile -t dirs < <(tar -tzf "$credentials" | cut -d/ -f1 | grep -x -e .one -e .ssh -e .ssh-host-keys | sort -u)
	tar -C "$work" -xzf "$credentials" "${dirs[@]}"
	for dir in "${dirs[@]}"; do
		rm -rf "$ONE_DIR/$dir.restoring"
		cp -a "$work/$dir" "$ONE_DIR/$dir.restoring"
		rm -rf "${ONE_DIR:?}/$dir"
		mv "$ONE_DIR/$dir.restoring" "$ONE_DIR/$dir"
		echo "restored $ONE_DIR/$dir from $credentials"
	done
	for dir in .one .ssh .ssh-host-keys; do rm -rf "$ONE_DIR/$dir.restoring"; done
elif [ -n "${ONE_DIR:-}" ]; then
	echo "the front-end's credentials ($ONE_DIR/.one) are left as they are: a schema upgrade does not change them"
fi
echo "restore of $RESTORE_BACKUP complete: set restore.enabled=false to start the front-end again"
