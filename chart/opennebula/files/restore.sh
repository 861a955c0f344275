# shellcheck shell=bash
# The restore Job's script (bash): puts one backup written by files/backup.sh back, while the front-end is
# stopped (restore.enabled scales it to 0): the dump is verified first, then every table of the database
# is dropped and the dump loaded, then /var/lib/one/.one is replaced by the archived one. Any failure
# fails the Job, loudly, before anything is changed when the backup itself is bad.
# Environment: DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE BACKUP_DIR RESTORE_BACKUP (the backup's
# name, opennebula-<time>) ONE_DIR (empty: the front-end has no volume, only the database is restored).
set -Eeuo pipefail
umask 077

fail() {
	echo "restore FAILED: $*" >&2
	exit 1
}

for name in DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE BACKUP_DIR RESTORE_BACKUP; do
	[ -n "${!name:-}" ] || fail "$name is not set"
done
[[ "$RESTORE_BACKUP" =~ ^opennebula-[0-9]{8}T[0-9]{6}Z$ ]] ||
	fail "RESTORE_BACKUP must name a backup as opennebula-<YYYYMMDDTHHMMSSZ>, got '$RESTORE_BACKUP' (ls the backup claim)"
dump="$BACKUP_DIR/$RESTORE_BACKUP.sql.gz"
credentials="$BACKUP_DIR/$RESTORE_BACKUP.one.tar.gz"
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
if [ -n "${ONE_DIR:-}" ]; then
	[ -f "$credentials" ] || fail "there is no $credentials (the front-end's credentials saved with the dump)"
	tar -tzf "$credentials" .one/one_key >/dev/null || fail "$credentials does not hold .one/one_key"
	{ [ -d "$ONE_DIR" ] && [ -w "$ONE_DIR" ]; } || fail "the front-end's volume is not mounted writable at $ONE_DIR"
fi
tables="$(db --batch --skip-column-names -e "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()" "$DB_NAME" 2>"$work/db.err")" ||
	fail "cannot reach database $DB_NAME on $DB_HOST:$DB_PORT: $(cat "$work/db.err")"

echo "restoring $dump into $DB_NAME on $DB_HOST:$DB_PORT"
# Tables a newer schema added are not in the dump: drop them all, so the database is exactly the backup.
{
	echo 'SET FOREIGN_KEY_CHECKS = 0;'
	while IFS= read -r table; do
		# shellcheck disable=SC2016 # the backquotes quote an SQL identifier
		if [ -n "$table" ]; then printf 'DROP TABLE `%s`;\n' "${table//\`/\`\`}"; fi
	done <<<"$tables"
	gzip -dc "$dump"
} | db "$DB_NAME" || fail "loading $dump into $DB_NAME failed"

if [ -n "${ONE_DIR:-}" ]; then
	tar -C "$work" -xzf "$credentials" .one
	rm -rf "$ONE_DIR/.one.restoring"
	cp -a "$work/.one" "$ONE_DIR/.one.restoring"
	rm -rf "$ONE_DIR/.one"
	mv "$ONE_DIR/.one.restoring" "$ONE_DIR/.one"
	echo "restored $ONE_DIR/.one from $credentials"
fi
echo "restore of $RESTORE_BACKUP complete: set restore.enabled=false to start the front-end again"
