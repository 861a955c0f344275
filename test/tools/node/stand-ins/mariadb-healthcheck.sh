#!/bin/bash
# STAND-IN for the official MariaDB image's healthcheck.sh, which the chart's MariaDB probes run as
# `healthcheck.sh --connect --innodb_initialized`. Reads the credentials the entrypoint stand-in wrote to
# /var/lib/mysql/.my-healthcheck.cnf. Each test must pass (exit 0) for the check to pass:
#   --connect             mariadbd accepts a TCP connection on 127.0.0.1:3306 (a refused login counts as
#                         connected, as in the official script)
#   --innodb_initialized  InnoDB is available (information_schema.ENGINES)
# Unknown options are an error naming them.
set -uo pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
[ $# -gt 0 ] || { echo "healthcheck.sh: no test given (--connect, --innodb_initialized)" >&2; exit 1; }
for test in "$@"; do
	case $test in
	--connect)
		out=$(mariadb --defaults-extra-file="$cnf" --protocol=tcp -h127.0.0.1 -e 'SELECT 1' 2>&1)
		if [[ $out == *"Can't connect"* ]]; then echo "healthcheck --connect: $out" >&2; exit 1; fi
		;;
	--innodb_initialized)
		out=$(mariadb --defaults-extra-file="$cnf" --protocol=socket -N -e \
			"SELECT 1 FROM information_schema.ENGINES WHERE engine = 'innodb' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
		if [ "$out" != 1 ]; then echo "healthcheck --innodb_initialized: ${out:-InnoDB not available}" >&2; exit 1; fi
		;;
	*) echo "healthcheck.sh: unknown test $test (this stand-in knows --connect, --innodb_initialized)" >&2; exit 1 ;;
	esac
done
