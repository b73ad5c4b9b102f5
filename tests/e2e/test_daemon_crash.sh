#!/usr/bin/env bash
# kill -9 at 50 random moments while a writer appends 20,000 lines a second (and logrotate
# rotates now and then), restarting each time: every number is audited exactly once across
# the whole report chain, and the chain verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
start_daemon
start_writer
cat >logrotate.conf <<CONF
$WORK/logs/app.log {
	create 0644
	rotate 1000
	nocompress
	postrotate
		kill -HUP $WPID
	endscript
}
CONF
RANDOM=42
for i in $(seq 50); do
	sleep "0.$((RANDOM % 5 + 1))$((RANDOM % 10))"
	kill -9 "$DAEMON"
	wait "$DAEMON" 2>/dev/null || true
	[ $((i % 10)) -eq 5 ] && logrotate -f -s logrotate.state logrotate.conf
	start_daemon
done
stop_writer
wait_findings "$last"
stop_daemon
$CHECK findings.jsonl state/reports "$last" || fail "not exactly once across 50 crashes"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "50 kill -9 under 20k lines/s with rotations: $last numbers, each audited once, $(ls state/reports | grep -vc latest) chained reports"
