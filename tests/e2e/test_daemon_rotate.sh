#!/usr/bin/env bash
# 200 rotations by real logrotate in create mode while a writer appends 20,000 numbered lines
# a second: every number is audited exactly once, and the reports form a valid chain.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
command -v logrotate >/dev/null || fail "logrotate is not installed"
write_config
start_daemon
start_writer
cat >logrotate.conf <<CONF
$WORK/logs/app.log {
	create 0644
	rotate 1000
	nocompress
	missingok
	postrotate
		kill -HUP $WPID
	endscript
}
CONF
rotate 200
stop_writer
[ "$last" -gt 100000 ] || fail "the writer wrote only $last lines"
wait_findings "$last"
stop_daemon
$CHECK findings.jsonl state/reports "$last" || fail "not exactly once"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
rotated=$(ls logs | wc -l)
ok "200 logrotate rotations (create) at 20k lines/s: $last numbers, each audited once, $rotated files, chain valid"
