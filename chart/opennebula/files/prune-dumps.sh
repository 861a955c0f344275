# shellcheck shell=bash
# The prune-upgrade-dumps init container's script (bash), after init: init keeps a dump of the database
# before each schema upgrade (onedb-before-<version>-<YYYYMMDDTHHMMSSZ>.sql in the volume's backups/, what
# restore.backup can name); keep the newest DUMPS_RETENTION of them by their time stamp, remove the rest.
# Environment: DUMPS_DIR DUMPS_RETENTION (a whole number of at least 1).
set -Eeuo pipefail
[[ "${DUMPS_RETENTION:-}" =~ ^[1-9][0-9]*$ ]] || { echo "prune FAILED: DUMPS_RETENTION must be at least 1, got '${DUMPS_RETENTION:-}'" >&2; exit 1; }
[ -d "${DUMPS_DIR:?}" ] || exit 0
mapfile -t old < <(find "$DUMPS_DIR" -maxdepth 1 -name 'onedb-before-*-*.sql' -printf '%f\n' |
	sed -n 's/^onedb-before-.*-\([0-9]\{8\}T[0-9]\{6\}Z\)\.sql$/\1 &/p' | sort -r | tail -n +"$((DUMPS_RETENTION + 1))" | cut -d' ' -f2)
for name in "${old[@]}"; do
	rm -v -f -- "${DUMPS_DIR:?}/$name"
done
