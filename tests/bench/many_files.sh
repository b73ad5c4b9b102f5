#!/usr/bin/env bash
# Many files under one glob: FILES files of LINES numbered lines each, then the daemon started
# with NOFILE descriptors as its soft limit and HARD as its hard limit (which it raises the soft
# one to; root may raise it); then a line more in each file and a restart, every file in the
# checkpoint. Prints for each start the time to follow them all, the time until every line is
# audited, the descriptors and memory it held, and whether every number was audited exactly
# once.
#
#   tests/bench/many_files.sh [BUILD_DIR]     FILES=50000 LINES=2 NOFILE=1024 HARD=... KEEP=1
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FILES=${FILES:-50000}
LINES=${LINES:-2}
NOFILE=${NOFILE:-1024}
HARD=${HARD:-$(ulimit -Hn)}
DGAUDIT=$BUILD/dgaudit
WORK=$(mktemp -d /tmp/dg-many.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p logs rules
cp "$SRC/tests/e2e/every-line.conf" rules/
cat >dgaudit.conf <<CONF
sources = ( { path = "logs/*.log"; format = "json"; } );
state_directory = "state";
report = { interval = "1h"; };
limits = { lateness = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = ""; poll = "1s"; findings = "findings.jsonl"; };
CONF
# lines FROM TO: appends line FROM..TO (counted per file) to every file, numbered so that the
# numbers 1..FILES*TO are each written once, in dg_writer's line format.
lines() {
	python3 - "$FILES" "$1" "$2" <<'PY'
import sys
files, a, b = map(int, sys.argv[1:])
for i in range(files):
    with open("logs/f%06d.log" % i, "a") as f:
        for k in range(a, b + 1):
            n = (k - 1) * files + i + 1
            f.write('{"@timestamp":"2026-11-02T%02d:%02d:%02d.%03dZ","event.action":"read",'
                    '"user.name":"w","message":"n%09d"}\n'
                    % (n // 3600000 % 24, n // 60000 % 60, n // 1000 % 60, n % 1000, n))
PY
}

# run WHAT WANT: starts the daemon, waits for WANT findings, stops it, says how it went.
run() {
	local want=$2 t0 pid ready="" done_at="" fds=0 rss=0 n r status once
	t0=$(date +%s.%N)
	(ulimit -Hn "$HARD" && ulimit -Sn "$NOFILE" && exec "$DGAUDIT" daemon -c dgaudit.conf) \
		>>daemon.log 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		n=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
		[ "$n" -gt "$fds" ] && fds=$n
		r=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ "${r:-0}" -gt "$rss" ] && rss=$r
		[ -z "$ready" ] && [ "$(grep -c "following .* source" daemon.log)" -ge "$3" ] &&
			ready=$(date +%s.%N)
		if [ "$(wc -l <findings.jsonl 2>/dev/null || echo 0)" -ge "$want" ]; then
			done_at=$(date +%s.%N)
			break
		fi
		[ "$(echo "$(date +%s.%N) - $t0 > ${TIMEOUT:-600}" | bc)" = 1 ] && break
		sleep 0.2
	done
	status="running"
	if kill -TERM "$pid" 2>/dev/null; then
		wait "$pid" && status="stopped cleanly" || status="exited $? on SIGTERM"
	else
		wait "$pid" || true
		status="died: $(grep -m1 -i 'error\|fatal\|too many' daemon.log || tail -1 daemon.log)"
	fi
	since() { [ -n "$1" ] && printf '%.1f s' "$(echo "$1 - $t0" | bc)" || echo "never"; }
	once=$(python3 "$SRC/tests/e2e/check_once.py" findings.jsonl state/reports "$want" \
		2>/dev/null | head -1 || true)
	echo "many files, $1: $FILES files, descriptors $NOFILE (hard $HARD):" \
		"following after $(since "$ready"), all audited after $(since "$done_at"), at most" \
		"$fds descriptors, peak RSS $((rss / 1024)) MiB; daemon $status; $once"
}

lines 1 "$LINES"
run "first start, $LINES lines each" $((FILES * LINES)) 1
# A restart with every file in the checkpoint, each with a line more to read.
lines $((LINES + 1)) $((LINES + 1))
run "restart, a line more each" $((FILES * (LINES + 1))) 2
