#!/usr/bin/env bash
# A writer that reopens its log late (its rotation's signal delayed, the process descheduled)
# appends to the rotated file after the daemon has drained it and let it go: those lines are
# read, once, under the name the file has by then. They used to be read only at a restart (a
# loaded CI run lost four so).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
start_daemon
"$WRITER" logs/app.log 10000 100 >/dev/null
wait_findings 100
mv logs/app.log logs/app.log.1
"$WRITER" logs/app.log 10000 10 --start 101 >/dev/null
wait_findings 110
for _ in $(seq 100); do
	grep -q "done with logs/app.log: rotated away and read to its end" daemon.log && break
	sleep 0.1
done
grep -q "done with logs/app.log: rotated away and read to its end" daemon.log ||
	fail "the rotated file was not let go: $(tail -5 daemon.log)"
# renamed on by the next rotation, then written to by the late writer
mv logs/app.log.1 logs/app.log.2
"$WRITER" logs/app.log.2 10000 20 --start 111 >/dev/null
wait_findings 130
grep -q "let go was written to later" daemon.log || fail "not said: $(tail -5 daemon.log)"
sleep 1
stop_daemon
$CHECK findings.jsonl state/reports 130 || fail "not exactly once"
ok "20 lines a late writer appended to a rotated file after it was let go: read once, as logs/app.log.2"
