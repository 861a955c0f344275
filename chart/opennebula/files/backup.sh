# shellcheck shell=bash
# The backup CronJob's script (bash): a consistent dump of OpenNebula's database and a copy of oneadmin's
# credentials directory (/var/lib/one/.one: one_key and the service accounts' auth files, without which a
# restored database cannot be used) with the SSH keys hypervisors trust (.ssh, .ssh-host-keys), each verified before it is published; older backups are removed
# only after that, so the newest good backup always stays. Any failure fails the Job, loudly.
# Environment: DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE BACKUP_DIR BACKUP_RETENTION ONE_DIR
# (ONE_DIR empty: the credentials are not on a volume this Job can read, and only the database is saved);
# S3_BUCKET (empty: no off-cluster copy) S3_PREFIX and files/s3.rb's S3_* (the client's code in S3_CLIENT).
set -Eeuo pipefail
umask 077

fail() {
	echo "backup FAILED: $*" >&2
	exit 1
}

for name in DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE BACKUP_DIR BACKUP_RETENTION; do
	[ -n "${!name:-}" ] || fail "$name is not set"
done
[[ "$BACKUP_RETENTION" =~ ^[1-9][0-9]*$ ]] || fail "BACKUP_RETENTION must be a whole number of at least 1, got '$BACKUP_RETENTION'"
[ -r "$DB_PASSWORD_FILE" ] || fail "cannot read the database password file $DB_PASSWORD_FILE"
{ [ -d "$BACKUP_DIR" ] && [ -w "$BACKUP_DIR" ]; } || fail "the backup directory $BACKUP_DIR is missing or not writable"

work="$(mktemp -d)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dump="$BACKUP_DIR/opennebula-$stamp.sql.gz"
credentials="$BACKUP_DIR/opennebula-$stamp.one.tar.gz"
# The paths are fixed now: a function's local of the same name (verify_dump's, say) must not change them.
# shellcheck disable=SC2064 # expanded here on purpose
trap "rm -rf $(printf '%q ' "$work" "$dump.part" "$credentials.part")" EXIT

# The password goes to the client in an option file, never on a command line or in the environment.
{
	echo '[client]'
	printf 'password="%s"\n' "$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' "$DB_PASSWORD_FILE")"
} >"$work/client.cnf"

echo "dumping database $DB_NAME from $DB_HOST:$DB_PORT"
mariadb-dump --defaults-extra-file="$work/client.cnf" --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" \
	--single-transaction --routines --triggers "$DB_NAME" 2>"$work/dump.err" | gzip >"$dump.part" ||
	fail "mariadb-dump of $DB_NAME on $DB_HOST:$DB_PORT failed: $(cat "$work/dump.err")"

verify_dump "$dump.part" # files/dump.sh

# The credentials are archived, verified and published before the dump, whose name marks a complete backup:
# .one, and the keys hypervisors trust, .ssh (oneadmin's key, generated once unless given as a Secret) and
# .ssh-host-keys (sshd's): a front-end restored onto a new volume without them is refused by every host.
if [ -n "${ONE_DIR:-}" ]; then
	[ -f "$ONE_DIR/.one/one_key" ] || fail "$ONE_DIR/.one/one_key is missing: is the front-end's volume mounted at $ONE_DIR?"
	saved=(.one)
	for dir in .ssh .ssh-host-keys; do
		if [ -d "$ONE_DIR/$dir" ]; then saved+=("$dir"); fi
	done
	tar -C "$ONE_DIR" -czf "$credentials.part" "${saved[@]}" || fail "could not archive ${saved[*]} of $ONE_DIR"
	tar -tzf "$credentials.part" .one/one_key >/dev/null || fail "the credentials archive does not hold .one/one_key"
	mv "$credentials.part" "$credentials"
	echo "wrote $credentials"
fi
mv "$dump.part" "$dump"
echo "wrote $dump ($(stat -c %s "$dump") bytes)"

# Retention: only now that this backup is verified, keep the newest BACKUP_RETENTION ones (names sort by
# time); leftovers of interrupted runs go too.
rm -f "$BACKUP_DIR"/opennebula-*.part
mapfile -t dumps < <(find "$BACKUP_DIR" -maxdepth 1 -name 'opennebula-*.sql.gz' -printf '%f\n' | sort -r)
for old in "${dumps[@]:$BACKUP_RETENTION}"; do
	[ "$old" != "${dump##*/}" ] || continue
	rm -v -f "$BACKUP_DIR/$old" "$BACKUP_DIR/${old%.sql.gz}.one.tar.gz"
done

# Off the cluster (backup.s3): the same files, the dump last as it marks a complete backup, then the
# bucket's retention. The backup stays in BACKUP_DIR if this fails, and the Job fails, naming the request.
if [ -n "${S3_BUCKET:-}" ]; then
	s3() { ruby -e "$S3_CLIENT" "$@"; }
	if [ -f "$credentials" ]; then
		s3 put "$credentials" "${S3_PREFIX:-}${credentials##*/}" || fail "copying $credentials to s3://$S3_BUCKET failed (it is kept in $BACKUP_DIR)"
	fi
	s3 put "$dump" "${S3_PREFIX:-}${dump##*/}" || fail "copying $dump to s3://$S3_BUCKET failed (it is kept in $BACKUP_DIR)"
	s3 prune "${S3_PREFIX:-}" "$BACKUP_RETENTION" || fail "removing backups beyond $BACKUP_RETENTION from s3://$S3_BUCKET/${S3_PREFIX:-} failed"
fi
