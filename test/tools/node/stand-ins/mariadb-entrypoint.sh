#!/bin/bash
# STAND-IN for the official MariaDB image's docker-entrypoint.sh, in the real-node tests' MariaDB image
# (Debian 12's mariadb-server; test/tools/node/image.sh). Honours what the chart's MariaDB subchart sets:
# MARIADB_ROOT_PASSWORD, MARIADB_ROOT_HOST, MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD (each also
# as a *_FILE variant, as the official image reads them) and MARIADB_AUTO_UPGRADE. On an empty
# /var/lib/mysql it initialises the data directory, sets the root password, creates the database, the user
# with all privileges on it and a `healthcheck` user for healthcheck.sh; then it runs mariadbd.
set -euo pipefail
die() { echo "mariadb-entrypoint: $*" >&2; exit 1; }

# file_env VAR: VAR from the environment or from the file named by VAR_FILE; both set is an error.
file_env() {
	local var=$1 file_var="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then die "both $var and $file_var are set (they are exclusive)"; fi
	if [ -n "${!file_var:-}" ]; then
		[ -r "${!file_var}" ] || die "$file_var names ${!file_var}, which cannot be read"
		export "$var"="$(<"${!file_var}")"
	fi
}
for var in MARIADB_ROOT_PASSWORD MARIADB_DATABASE MARIADB_USER MARIADB_PASSWORD MARIADB_ROOT_HOST; do file_env "$var"; done
[ $# -gt 0 ] || set -- mariadbd
[ "$1" = mariadbd ] || exec "$@"

datadir=/var/lib/mysql socket=/run/mysqld/mysqld.sock
sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }
# shellcheck disable=SC2016 # backquotes are SQL's, not the shell's
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

start_temporary() {
	mariadbd --skip-networking --socket="$socket" --datadir="$datadir" &
	temporary=$!
	for _ in $(seq 60); do
		mariadb --protocol=socket --socket="$socket" -uroot ${1:+-p"$1"} -e 'SELECT 1' >/dev/null 2>&1 && return 0
		kill -0 "$temporary" 2>/dev/null || die "mariadbd exited during initialisation"
		sleep 1
	done
	die "the temporary mariadbd did not start within 60s"
}
stop_temporary() {
	kill "$temporary"
	wait "$temporary" || true
}

if [ ! -d "$datadir/mysql" ]; then
	[ -n "${MARIADB_ROOT_PASSWORD:-}" ] || die "the database is uninitialised and MARIADB_ROOT_PASSWORD is not set"
	if [ -n "${MARIADB_USER:-}" ] && [ -z "${MARIADB_PASSWORD:-}" ]; then die "MARIADB_USER is set but MARIADB_PASSWORD is not"; fi
	[ "${MARIADB_USER:-}" != root ] || die "MARIADB_USER=root: set MARIADB_ROOT_PASSWORD for root instead"
	echo "initialising $datadir"
	mariadb-install-db --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal \
		--skip-name-resolve >/dev/null
	start_temporary ''
	health=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
	root_host=${MARIADB_ROOT_HOST:-%}
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		echo "DELETE FROM mysql.user WHERE user = '';"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
		if [ "$root_host" != localhost ]; then
			echo "CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");"
			echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
		fi
		echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY '$health', 'healthcheck'@'::1' IDENTIFIED BY '$health', 'healthcheck'@'localhost' IDENTIFIED BY '$health';"
		echo "GRANT USAGE ON *.* TO 'healthcheck'@'127.0.0.1', 'healthcheck'@'::1', 'healthcheck'@'localhost';"
		if [ -n "${MARIADB_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$MARIADB_DATABASE");"; fi
		if [ -n "${MARIADB_USER:-}" ]; then
			echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
			if [ -n "${MARIADB_DATABASE:-}" ]; then
				echo "GRANT ALL ON $(sql_name "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';"
			fi
		fi
	} | mariadb --protocol=socket --socket="$socket" -uroot
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$socket" "$health" \
		>"$datadir/.my-healthcheck.cnf"
	chmod 0600 "$datadir/.my-healthcheck.cnf"
	stop_temporary
	echo "initialised $datadir"
elif [ -n "${MARIADB_AUTO_UPGRADE:-}" ]; then
	start_temporary "${MARIADB_ROOT_PASSWORD:-}"
	mariadb-upgrade --protocol=socket --socket="$socket" -uroot ${MARIADB_ROOT_PASSWORD:+-p"$MARIADB_ROOT_PASSWORD"} \
		--check-if-upgrade-is-needed >/dev/null 2>&1 &&
		mariadb-upgrade --protocol=socket --socket="$socket" -uroot ${MARIADB_ROOT_PASSWORD:+-p"$MARIADB_ROOT_PASSWORD"}
	stop_temporary
fi
exec "$@"
