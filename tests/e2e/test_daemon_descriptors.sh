#!/usr/bin/env bash
# More files than descriptors: 400 files under one glob for a daemon allowed 400 descriptors
# (soft and hard). It keeps running, keeps a reserve for its own files, and follows them all:
# files read to their end give their descriptor back (parked) and are opened again when they
# grow, are renamed (found among their siblings) or a restart finds them; then the same with
# daemon.max_open = 40 and descriptors to spare. Every number audited exactly once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
FILES=400
config() {
	cat >dgaudit.conf <<CONF
sources = ( { path = "logs/*.log"; format = "json"; } );
state_directory = "state";
report = { interval = "1h"; };
limits = { lateness = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = ""; poll = "200ms"; findings = "findings.jsonl"; rotated_idle = "200ms";
           $MAX_OPEN };
CONF
}
MAX_OPEN=""
config

# lines ROUND [FIRST LAST]: three more numbered lines in each file (FIRST..LAST, all by
# default); round r's numbers come after round r-1's.
lines() {
	for i in $(seq "${2:-0}" "${3:-$((FILES - 1))}"); do
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

# start_limited [DESCRIPTORS]: starts the daemon allowed that many descriptors (400).
start_limited() {
	STARTS=$((STARTS + 1))
	(ulimit -n "${1:-400}" && exec "$DGAUDIT" daemon -c dgaudit.conf) >>daemon.log 2>&1 &
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

# descriptors: how many the daemon holds.
descriptors() {
	ls "/proc/$DAEMON/fd" | wc -l
}

lines 0
start_limited
until_audited 0 399 1
grep -q "wait to be followed: descriptors are exhausted" daemon.log ||
	fail "no word of files waiting (all 400 had lines to read at the start)"
grep -q "closed and opened again when they change" daemon.log || fail "no word of parking"
held=$(descriptors)
# 128 are kept back from files to follow; the checkpoint and report take a few of them
[ "$held" -le 300 ] || fail "$held descriptors open: the reserve is not kept"
ok "400 files, 400 descriptors: all audited, $held descriptors held"

# Parked files grow: opened again and read on.
lines 1
until_audited 0 399 2
# Written, then renamed away at once (often before a look): found by inode among the siblings
# and drained; the others grow in place.
for i in $(seq 0 99); do
	f=$(printf 'logs/f%04d.log' "$i")
	"$WRITER" "$f" 100000 3 --start $((2 * FILES * 3 + i * 3 + 1)) >/dev/null
	mv "$f" "$f.1"
done
lines 2 100 399
until_audited 0 399 3
ok "parked files that grow or are renamed are read on"

# A restart: the checkpoint holds more files than descriptors; the 100 renamed names are new
# files now.
stop_daemon
lines 3
start_limited
until_audited 0 399 4
[ "$(descriptors)" -le 300 ] || fail "$(descriptors) descriptors after the restart"
ok "restarted with 400 files to continue and 400 descriptors: all read on"

# A bound of the site's own, with descriptors to spare.
stop_daemon
MAX_OPEN="max_open = 40;"
config
start_limited 4096
lines 4
until_audited 0 399 5
held=$(descriptors)
[ "$held" -le 70 ] || fail "$held descriptors open with daemon.max_open = 40"
stop_daemon
$CHECK findings.jsonl state/reports $((FILES * 15)) || fail "not exactly once"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "daemon.max_open = 40: $held descriptors held; $((FILES * 15)) numbers, each once"
