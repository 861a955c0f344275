# shellcheck shell=bash
# What makes a database dump good, for the backup and the restore scripts alike (their templates put this
# file before each of them): a whole gzip file, mariadb-dump's completion trailer (it writes it only when it
# finished), and at least one table. Uses the fail() of the script it is put before.
verify_dump() {
	local dump=$1 trailer
	gzip -t "$dump" || fail "$dump is not a complete gzip file"
	trailer="$(gzip -dc "$dump" | tail -n 1)"
	[[ "$trailer" == "-- Dump completed"* ]] || fail "$dump has no completion trailer (last line: '$trailer')"
	# grep reads to the end (no -q): with pipefail, a grep that quits early would fail a large dump on SIGPIPE.
	gzip -dc "$dump" | grep '^CREATE TABLE' >/dev/null || fail "$dump holds no table: is it OpenNebula's database?"
}
