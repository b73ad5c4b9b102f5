#!/usr/bin/env bash
# New files that match a source glob are found through inotify on their directory, not by the
# poll: with the poll at 30 s, a file created (or renamed into place) under a relative and an
# absolute glob is audited within a second.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
mkdir -p logs/app other
cat >dgaudit.conf <<CONF
sources = ( { path = "logs/app/*.jsonl"; format = "json"; },
            { path = "$WORK/other/*.jsonl"; format = "json"; } );
state_directory = "state";
report = { interval = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = ""; poll = "30s"; findings = "findings.jsonl"; };
CONF
"$DGAUDIT" daemon -c dgaudit.conf >>daemon.log 2>&1 &
DAEMON=$!
for _ in $(seq 100); do grep -q "following 2 source" daemon.log && break; sleep 0.05; done

# appear: a created file under the relative glob, a renamed one under the absolute glob
appear() {
	local n=$1 t0
	t0=$(date +%s%N)
	"$WRITER" logs/app/new-$n.jsonl 1000 1 --start "$n" >/dev/null
	"$WRITER" other/tmp-$n 1000 1 --start $((n + 1)) >/dev/null
	mv other/tmp-$n other/new-$n.jsonl
	for _ in $(seq 200); do
		[ "$(wc -l <findings.jsonl 2>/dev/null || echo 0)" -ge "$2" ] && break
		sleep 0.01
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$(wc -l <findings.jsonl)" -ge "$2" ] || fail "new files not audited within 2 s"
	[ "$ms" -lt 1000 ] || fail "new files audited after $ms ms: found by the poll, not inotify"
}
appear 10 2
appear 20 4
ok "new files under both globs audited within a second ($ms ms), the poll being 30 s"

# A generation created, written and rotated away while dgaudit was not looking (stopped by
# SIGSTOP here; busy, in life), after its predecessor had been seen renamed away: found among
# the siblings when the next file takes the name, and read.
"$WRITER" logs/app/live.jsonl 1000 1 --start 100 >/dev/null
wait_findings 5
mv logs/app/live.jsonl logs/app/live.jsonl.1
sleep 0.3 # the daemon sees the name go
kill -STOP "$DAEMON"
"$WRITER" logs/app/live.jsonl 1000 1 --start 101 >/dev/null
mv logs/app/live.jsonl logs/app/live.jsonl.2
"$WRITER" logs/app/live.jsonl 1000 1 --start 102 >/dev/null
kill -CONT "$DAEMON"
wait_findings 7
sleep 0.3
expect_eq "$(wc -l <findings.jsonl)" 7 "findings after the unseen generation"
grep -q '"message":"n0*101"' findings.jsonl || fail "the generation rotated away unseen was not read"
ok "a generation created and rotated away between two looks is found and read once"
kill -TERM "$DAEMON"
wait "$DAEMON" || fail "daemon exited $? on SIGTERM"
