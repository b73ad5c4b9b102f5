#!/usr/bin/env bash
# A backlog is no reason to ignore SIGTERM: 2,000,000 lines waiting, the daemon told to stop
# just after it starts reading stops before it has read them all (the signal waited for the
# backlog to end: never, under a writer faster than the audit), and a restart audits the rest.
# Every number once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
N=2000000
write_config
"$WRITER" logs/app.log 1000000000 "$N" >/dev/null
start_daemon
sleep 0.3
kill -TERM "$DAEMON"
for _ in $(seq 600); do
	kill -0 "$DAEMON" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$DAEMON" 2>/dev/null && { kill -9 "$DAEMON"; fail "SIGTERM ignored for 60 s"; }
wait "$DAEMON" || fail "daemon exited $? on SIGTERM"
stopped_at=$(wc -l <findings.jsonl)
[ "$stopped_at" -lt "$N" ] || fail "it read the whole backlog before it stopped (the test needs a slower daemon or more lines)"
start_daemon
wait_findings "$N"
stop_daemon
$CHECK findings.jsonl state/reports "$N" || fail "not exactly once"
ok "SIGTERM with a backlog: stopped after $stopped_at of $N lines; the restart audited the rest once"
