#!/usr/bin/env bash
# copytruncate while the daemon is far behind (here: stopped with SIGSTOP while 100,000 lines
# are written): the rest of the generation is read from the copy by the pump like any held
# file, so reports keep report.max_size and a stop is not held up. It used to be read to the
# copy's end in one go: the 1,000-copytruncate soak saw a report of 28 MB against a cap of 8.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
REPORT="max_size = 1048576;" write_config
start_daemon
"$WRITER" logs/app.log 100000 100 >/dev/null
wait_findings 100
kill -STOP "$DAEMON"
"$WRITER" logs/app.log 100000 100000 --start 101 >/dev/null
cp logs/app.log logs/app.log.1
: >logs/app.log
"$WRITER" logs/app.log 100000 10 --start 100101 >/dev/null
kill -CONT "$DAEMON"
wait_findings 100110
sleep 1
stop_daemon
$CHECK findings.jsonl state/reports 100110 || fail "not exactly once"
largest=$(stat -c %s state/reports/2*/report.json | sort -n | tail -1)
# the cap and what one read of 1 MiB of lines adds (about 6 MB of findings here), not the
# whole backlog's 20 MB
[ "$largest" -le $((8 << 20)) ] || fail "a report of $largest bytes (report.max_size 1 MiB)"
expect_eq "$(jq -r '.integrity_events[].detail' state/reports/2*/report.json |
	grep -c "copytruncate's copy: the rest of the generation read from it")" 1 "the copy followed"
ok "copytruncate under a daemon 100,000 lines behind: all once, largest report $largest bytes (cap 1 MiB)"
