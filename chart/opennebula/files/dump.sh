# shellcheck shell=bash
# What makes a database dump good, for the backup and the restore scripts alike (their templates put this
# file before each of them): a whole file (for the backups' gzip, a complete gzip stream), mariadb-dump's
# completion trailer (it writes it only when it finished), and at least one table. Plain .sql files are the
# dumps init keeps before a schema upgrade. Uses the fail() of the script it is put before.
dump_text() { # dump_text FILE: the SQL of a plain .sql file, else of a gzipped one (.sql.gz, .sql.gz.part)
	case $1 in
	*.sql) cat "$1" ;;
	*) gzip -dc "$1" ;;
	esac
}

verify_dump() {
	local file=$1 trailer
	case $file in *.sql) ;; *) gzip -t "$file" || fail "$file is not a complete gzip file" ;; esac
	trailer="$(dump_text "$file" | tail -n 1)"
	[[ "$trailer" == "-- Dump completed"* ]] || fail "$file has no completion trailer (last line: '$trailer')"
	# grep reads to the end (no -q): with pipefail, a grep that quits early would fail a large dump on SIGPIPE.
	dump_text "$file" | grep '^CREATE TABLE' >/dev/null || fail "$file holds no table: is it OpenNebula's database?"
}
