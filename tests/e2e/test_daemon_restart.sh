#!/usr/bin/env bash
# What happens while the daemon is stopped: a rotation (plain, and compressed) is drained before
# the new file; a deleted file whose inode is reused by a new one is not mistaken for it; a line
# half-written at the stop is audited once when completed. Every number exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
cat >logrotate.conf <<CONF
$WORK/logs/app.log {
	create 0644
	rotate 10
	nocompress
}
CONF

# (d) rotation while stopped, plain then compressed.
start_daemon
"$WRITER" logs/app.log 5000 2000 >/dev/null
wait_findings 2000
stop_daemon
"$WRITER" logs/app.log 5000 1000 --start 2001 >/dev/null      # unread when the daemon stopped
logrotate -f -s logrotate.state logrotate.conf                   # app.log -> app.log.1
"$WRITER" logs/app.log 5000 1000 --start 3001 >/dev/null
start_daemon
wait_findings 4000
stop_daemon
"$WRITER" logs/app.log 5000 1000 --start 4001 >/dev/null
sed -i 's/nocompress/compress/' logrotate.conf
logrotate -f -s logrotate.state logrotate.conf                   # app.log -> app.log.1.gz
ls logs/app.log.1.gz >/dev/null || fail "logrotate did not compress"
"$WRITER" logs/app.log 5000 1000 --start 5001 >/dev/null
start_daemon
wait_findings 6000
stop_daemon
$CHECK findings.jsonl state/reports 6000 || fail "rotation while stopped"
grep -q "rotated while dgaudit was stopped" daemon.log || fail "the plain rotation was not drained"
ok "rotations while stopped (plain and compressed): the old file's rest is read first, nothing twice"

# (e) the file is deleted while stopped and a new one gets its inode.
old_ino=$(stat -c %i logs/app.log)
rm logs/app.log
for i in $(seq 50); do
	: >logs/app.log
	[ "$(stat -c %i logs/app.log)" = "$old_ino" ] && break
	mv logs/app.log "logs/.spare$i" # keep the wrong inode busy, try again
done
rm -f logs/.spare*
reused=$([ "$(stat -c %i logs/app.log)" = "$old_ino" ] && echo "the same inode" || echo "a new inode")
"$WRITER" logs/app.log 5000 1000 --start 6001 >/dev/null
start_daemon
wait_findings 7000
stop_daemon
$CHECK findings.jsonl state/reports 7000 || fail "after delete and recreate"
if [ "$reused" = "the same inode" ]; then
	grep -q "same inode but other content" daemon.log || fail "inode reuse not recognised"
fi
ok "a deleted file replaced by a new one ($reused) is read from its start"

# (f) a line half-written when the daemon stops is audited once, when completed.
start_daemon
"$WRITER" logs/app.log 5000 100 --start 7001 --partial >/dev/null # 7100 stays open
wait_findings 7099
stop_daemon
printf '\n' >>logs/app.log                                       # the writer finishes it
"$WRITER" logs/app.log 5000 100 --start 7101 >/dev/null
start_daemon
wait_findings 7200
stop_daemon
$CHECK findings.jsonl state/reports 7200 || fail "partial line"
[ "$(jq -s 'map(.malformed.count) | add' state/reports/2*/report.json)" = 0 ] ||
	fail "the completed line was reported malformed"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "a line completed after a restart is audited once, whole; the chain of $(ls state/reports | grep -vc latest) reports verifies"

