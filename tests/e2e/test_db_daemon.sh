#!/usr/bin/env bash
# The daemon on the database servers' own rotation: PostgreSQL's logging collector starting a
# new file every 64 kB (stderr and csvlog at once), and MariaDB's server_audit renaming its log
# every 64 kB, while each server runs 2,000 numbered statements. Every statement must be
# audited exactly once per log, with no malformed record, across all the files.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/db_lib.sh"
source "$HERE/daemon_lib.sh"
trap '[ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null; stop_servers; cleanup' EXIT
N=2000
ID=11010519491231002X # a valid resident identity number: each statement is a finding

start_postgres "log_destination = 'stderr,csvlog'" "log_rotation_size = '64kB'" \
	"log_filename = 'postgresql-%H%M%S.log'" "log_connections = off"
start_mariadb --server_audit_file_rotate_size=65536 --server_audit_file_rotations=999
psql -X -q -h "$PGDATA" -p "$PGPORT" -U postgres -d postgres \
	-c "CREATE SCHEMA core; CREATE TABLE core.customers (id int, name text, note text)"
mariadb -S "$MYSOCK" -u root -e "CREATE DATABASE core; CREATE TABLE core.customers (id int,
	name text, note text)"

cat >dgaudit.conf <<CONF
sources = (
  { path = "$PGLOGDIR/postgresql-*.log"; format = "postgresql"; },
  { path = "$PGLOGDIR/postgresql-*.csv"; format = "postgresql-csv"; },
  { path = "$MYLOG"; format = "mariadb"; }
);
databases = { log_line_prefix = "%m [%p] %q%u@%d %r %a "; timezone = "UTC"; };
assets = ( { object = "core.customers"; classification = "C3"; } );
state_directory = "state";
report = { interval = "1h"; };
daemon = { metrics = ""; poll = "200ms"; findings = "findings.jsonl"; rotated_idle = "1s"; };
CONF
"$DGAUDIT" daemon -c dgaudit.conf >>daemon.log 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
	[ "$(grep -c "following" daemon.log)" -ge 3 ] && break
	sleep 0.05
done

# The statements: numbered, spanning lines, with the identity number and quotes.
for i in $(seq "$N"); do
	printf "SELECT name FROM core.customers\n WHERE id = %d AND note <> '%s' -- it's #%d\n;\n" \
		"$i" "$ID" "$i"
done >work.sql
# PostgreSQL names its files by the second: four batches a second apart make four files at
# least, and the 64 kB limit more within each.
split -l $((3 * N / 4)) work.sql batch.
(
	for b in batch.*; do
		psql -X -q -v ON_ERROR_STOP=1 -h "$PGDATA" -p "$PGPORT" -U postgres -d postgres -f "$b" >/dev/null
		sleep 1.1
	done
) &
PSQL=$!
mariadb -S "$MYSOCK" -u root core <work.sql >/dev/null
wait "$PSQL"
stop_postgres
stop_mariadb
pg_files=$(ls "$PGLOGDIR"/*.log | wc -l)
my_files=$(ls "$MYLOG"* | wc -l)
[ "$pg_files" -ge 4 ] && [ "$my_files" -ge 4 ] ||
	fail "too few rotations: $pg_files PostgreSQL files, $my_files MariaDB files"
ok "the servers rotated: $pg_files stderr files (and as many csvlog), $my_files server_audit files"

# Wait for every statement in all three logs, then stop: the final report covers them.
count() { jq -r 'select(.rule == "JRT-ID-NUMBER-IN-LOG") | .record.input' findings.jsonl 2>/dev/null | wc -l; }
for _ in $(seq 600); do
	[ "$(count)" -ge $((3 * N)) ] && break
	sleep 0.1
done
sleep 0.5 # anything beyond shows as a repeat
kill -TERM "$DAEMON"
wait "$DAEMON" || fail "daemon exited $? on SIGTERM"
DAEMON=

for kind in 'postgresql-[0-9]*\.log$' 'postgresql-[0-9]*\.csv$' 'server_audit\.log'; do
	jq -r --arg k "$kind" 'select(.rule == "JRT-ID-NUMBER-IN-LOG" and (.record.input | test($k)))
		| .fields["db.query.text"] | capture("id = (?<n>[0-9]+) ").n' findings.jsonl |
		sort -n >ids.txt
	seq "$N" | diff -q - ids.txt >/dev/null ||
		fail "$kind: statements not audited exactly once: $(seq "$N" | diff - ids.txt | head -5)"
	ok "$kind: all $N statements audited exactly once"
done
"$DGAUDIT" verify state/reports >/dev/null || fail "the report chain does not verify"
malformed=$(jq -s 'map(.inputs[].malformed) | add' state/reports/*/report.json)
expect_eq "$malformed" 0 "malformed records"
ok "no malformed record; the report chain verifies"
