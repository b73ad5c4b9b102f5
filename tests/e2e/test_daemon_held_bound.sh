#!/usr/bin/env bash
# More rotated generations to drain than daemon.max_held (here: four, rotated while the daemon
# was stopped with SIGSTOP, against a limit of 2): the oldest is read before the others, in
# reads a full report can stop, so reports keep report.max_size. It used to be read to its end
# in one go, all of it into one report.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
REPORT="max_size = 1048576;" write_config
sed -i 's/max_held = 8;/max_held = 2;/' dgaudit.conf
start_daemon
"$WRITER" logs/app.log 100000 100 >/dev/null
wait_findings 100
kill -STOP "$DAEMON"
n=100
for g in 1 2 3 4; do
	"$WRITER" logs/app.log 100000 60000 --start $((n + 1)) >/dev/null
	n=$((n + 60000))
	mv logs/app.log logs/app.log.$g
done
"$WRITER" logs/app.log 100000 10 --start $((n + 1)) >/dev/null
n=$((n + 10))
kill -CONT "$DAEMON"
wait_findings $n
sleep 1
stop_daemon
$CHECK findings.jsonl state/reports $n || fail "not exactly once"
grep -q "rotated files held open (limit 2)" daemon.log || fail "the limit was not reached"
largest=$(stat -c %s state/reports/2*/report.json | sort -n | tail -1)
# the cap and what one read of 1 MiB of lines adds, not a generation's 13 MB of findings
[ "$largest" -le $((8 << 20)) ] || fail "a report of $largest bytes (report.max_size 1 MiB)"
ok "four generations behind, max_held 2: $n numbers once, largest report $largest bytes (cap 1 MiB)"
