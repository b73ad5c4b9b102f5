#!/usr/bin/env bash
# Memory across rotations: a writer appends numbered lines at RATE a second while app.log is
# renamed away ROTATIONS times (the older generation deleted by the rename), and reports close
# every second. Prints the daemon's resident memory after the first tenth of the rotations and
# at the end, the growth per rotation, and whether every number was audited exactly once.
# Memory must not grow with rotations: what an ended file held is released once reported.
#
#   tests/bench/rotations.sh [BUILD_DIR]      ROTATIONS=2000 RATE=2000 KEEP=1
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROTATIONS=${ROTATIONS:-2000}
RATE=${RATE:-2000}
DGAUDIT=$BUILD/dgaudit
WRITER=$BUILD/tests/dg_writer
WORK=$(mktemp -d /tmp/dg-rot.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir -p logs rules
cp "$SRC/tests/e2e/every-line.conf" rules/
cat >dgaudit.conf <<CONF
sources = ( { path = "logs/app.log*"; format = "json"; } );
state_directory = "state";
report = { interval = "1s"; };
limits = { lateness = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = ""; poll = "200ms"; findings = "findings.jsonl"; rotated_idle = "200ms"; };
CONF
"$DGAUDIT" daemon -c dgaudit.conf >daemon.log 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q "following .* source" daemon.log && break; sleep 0.05; done
"$WRITER" logs/app.log "$RATE" 1000000000 >writer.out &
wpid=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
early=0
for i in $(seq "$ROTATIONS"); do
	mv logs/app.log logs/app.log.1 2>/dev/null || true
	kill -HUP "$wpid"
	sleep 0.05
	[ "$i" -eq $((ROTATIONS / 10)) ] && early=$(rss)
done
sleep 2
late=$(rss)
kill -TERM "$wpid"
wait "$wpid" || true
last=$(awk '{print $2}' writer.out)
sleep 2
kill -TERM "$pid"
wait "$pid" || true
once=$(python3 "$SRC/tests/e2e/check_once.py" findings.jsonl state/reports "$last" | head -1)
echo "rotations: $ROTATIONS, RSS $((early / 1024)) MiB after $((ROTATIONS / 10)), $((late / 1024))" \
	"MiB after all: $(((late - early) * 1024 / (ROTATIONS - ROTATIONS / 10))) bytes per rotation;" \
	"$once"
