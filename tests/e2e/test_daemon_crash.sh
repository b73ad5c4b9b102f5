#!/usr/bin/env bash
# kill -9 at 50 random moments while a writer appends 20,000 lines a second (and logrotate
# rotates now and then), restarting each time: every number is audited exactly once across
# the whole report chain, and the chain verifies. Reports are capped at 1 MiB (about half a
# second of findings here), so many kills land in the close of a full report: none grows past
# the cap by more than a read or a drain adds.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
MAX=1048576
REPORT="max_size = $MAX;" write_config
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
# One read is 1 MiB of input, whose lines make about three times that in findings, and a
# rotated file is drained whole before it is let go; uncapped, a 2 s report is about 19 MB.
largest=$(stat -c %s state/reports/2*/report.json | sort -n | tail -1)
[ "$largest" -le $((MAX + 8 * 1048576)) ] || fail "a report of $largest bytes (cap $MAX)"
full=$(jq -s '[.[].integrity_events[] | select(.type == "report_full")] | length' \
	state/reports/2*/report.json)
[ "$full" -gt 0 ] || fail "no report closed at report.max_size"
small=$(jq -s '[.[] | select(any(.integrity_events[]; .type == "report_full"))] | length' \
	state/reports/2*/report.json)
[ "$small" = "$full" ] || fail "$full report_full events in $small reports"
for r in state/reports/2*/report.json; do
	if jq -e 'any(.integrity_events[]; .type == "report_full")' "$r" >/dev/null; then
		[ "$(stat -c %s "$r")" -ge $MAX ] || fail "$r closed as full below the cap"
	fi
done
ok "$full reports closed at report.max_size ($MAX bytes), none beyond $largest bytes"
ok "50 kill -9 under 20k lines/s with rotations: $last numbers, each audited once, $(ls state/reports | grep -vc latest) chained reports"
