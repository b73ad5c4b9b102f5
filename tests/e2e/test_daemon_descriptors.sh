#!/usr/bin/env bash
# More files than descriptors: 400 files under one glob for a daemon allowed 400 descriptors
# (soft and hard). It keeps running and keeps a reserve for its own files, says in its log and
# report that files wait, and follows them as descriptors come free; a restart while files wait
# loses and repeats nothing. Every number audited exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
FILES=400
cat >dgaudit.conf <<CONF
sources = ( { path = "logs/*.log"; format = "json"; } );
state_directory = "state";
report = { interval = "1h"; };
limits = { lateness = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = ""; poll = "200ms"; findings = "findings.jsonl"; rotated_idle = "200ms"; };
CONF

# lines ROUND: three more numbered lines in each file; round r's numbers come after round r-1's.
lines() {
	for i in $(seq 0 $((FILES - 1))); do
		"$WRITER" "$(printf 'logs/f%04d.log' "$i")" 100000 3 \
			--start $(($1 * FILES * 3 + i * 3 + 1)) >/dev/null
	done
}

# audited FIRST LAST ROUNDS: whether every number of files FIRST..LAST in rounds 0..ROUNDS-1 is
# in the findings log.
audited() {
	python3 - "$@" "$FILES" <<'PY'
import json, sys
first, last, rounds, files = map(int, sys.argv[1:])
seen = set()
with open("findings.jsonl") as f:
    for line in f:
        seen.add(int(json.loads(line)["fields"]["message"][1:]))
want = {r * files * 3 + i * 3 + k + 1 for r in range(rounds) for i in range(first, last + 1)
        for k in range(3)}
sys.exit(0 if want <= seen else 1)
PY
}

start_limited() {
	STARTS=$((STARTS + 1))
	(ulimit -n 400 && exec "$DGAUDIT" daemon -c dgaudit.conf) >>daemon.log 2>&1 &
	DAEMON=$!
	for _ in $(seq 200); do
		[ "$(grep -c "following .* source" daemon.log 2>/dev/null)" -ge "$STARTS" ] && return 0
		sleep 0.05
	done
	fail "daemon did not start"
}

# until_audited FIRST LAST ROUNDS: waits (30 s at most) for those numbers.
until_audited() {
	for _ in $(seq 150); do
		audited "$@" && return 0
		kill -0 "$DAEMON" 2>/dev/null || fail "the daemon died: $(tail -3 daemon.log)"
		sleep 0.2
	done
	fail "files $1 to $2 not audited after 30 s"
}

lines 0
start_limited
until_audited 0 199 1
grep -q "wait to be followed: descriptors are exhausted" daemon.log ||
	fail "no word of files waiting"
held=$(ls "/proc/$DAEMON/fd" | wc -l)
# 128 are kept back from files to follow; the checkpoint and report take a few of them
[ "$held" -le 300 ] || fail "$held descriptors open: the reserve is not kept"
audited 399 399 1 && fail "the last file was audited: it should wait for a descriptor"
ok "400 files, 400 descriptors: the daemon runs, holds $held, and says files wait"

# A restart while files wait: those followed go on from the checkpoint, the rest wait again.
stop_daemon
lines 1
start_limited
until_audited 0 199 2
# Descriptors come free as audited files go away (deleted, then let go once drained).
rm logs/f00[0-9][0-9].log logs/f01[0-9][0-9].log
until_audited 200 399 2
stop_daemon
$CHECK findings.jsonl state/reports $((FILES * 6)) || fail "not exactly once"
jq -e -s 'map(.integrity_events[] | select(.type == "descriptors_exhausted")) | length > 0' \
	state/reports/2*/report.json >/dev/null || fail "no report says files waited"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "files waiting for descriptors across a restart are followed once others are let go: $((FILES * 6)) numbers, each once"
