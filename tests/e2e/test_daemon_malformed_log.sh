#!/usr/bin/env bash
# A log gone bad is said in the daemon's own log, file, line and reason, at most 10 lines a
# minute however many malformed records there are (each is counted and listed in the report).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
start_daemon
"$WRITER" logs/app.log 1000 3 >/dev/null
for i in $(seq 500); do echo "not json $i"; done >>logs/app.log
"$WRITER" logs/app.log 1000 3 --start 4 >/dev/null
wait_findings 6
stop_daemon
grep "malformed record" daemon.log >malformed.txt || fail "no malformed record logged"
head -1 malformed.txt | grep -q "logs/app.log:4 (offset [0-9]*): malformed record: " ||
	fail "first line: $(head -1 malformed.txt)"
expect_eq "$(wc -l <malformed.txt)" 10 "malformed lines logged"
expect_eq "$(jq -s 'map(.summary.malformed) | add' state/reports/2*/report.json)" 500 \
	"malformed records in the reports"
ok "500 malformed records: 10 log lines naming file, line and offset; the report counts 500"
