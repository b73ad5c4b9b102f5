#!/usr/bin/env bash
# copytruncate's copy shorter than what was read: lines written after the copy were read from
# the original before it was truncated, and the daemon stopped before the truncation was in
# its checkpoint (here: truncated while it was stopped). At the restart the copy is remembered
# by its own inode, so that once the original's inode belongs to later generations, a restart
# never takes the copy for a generation nobody read (the soak saw every line of such copies
# audited twice, and a false gap declared after them). Every number once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
"$WRITER" logs/app.log 100000 100 >/dev/null
start_daemon
wait_findings 100
cp logs/app.log logs/app.log.1 # the copy: lines 1-100
"$WRITER" logs/app.log 100000 50 --start 101 >/dev/null
wait_findings 150 # read from the original, past the copy's end
stop_daemon
# Truncated while stopped, and written again: the second generation.
: >logs/app.log
"$WRITER" logs/app.log 100000 100 --start 151 >/dev/null
start_daemon
wait_findings 250
# Another copytruncate while running: the original's inode now holds the third generation.
mv logs/app.log.1 logs/app.log.2
cp logs/app.log logs/app.log.1
: >logs/app.log
"$WRITER" logs/app.log 100000 100 --start 251 >/dev/null
wait_findings 350
stop_daemon
start_daemon
"$WRITER" logs/app.log 100000 10 --start 351 >/dev/null
wait_findings 360
sleep 1
stop_daemon
$CHECK findings.jsonl state/reports 360 || fail "not exactly once"
ok "a copy shorter than what was read is known after restarts: 360 numbers once"
