#!/usr/bin/env bash
# The state directory and the report chain have one writer: a second daemon, or a run adding to
# the same chain or creating keys in the same state directory, is refused with the holder's PID,
# and the first goes on unharmed (its chain verifies, every line once).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
trap 'kill "$DAEMON" 2>/dev/null || true; cleanup' EXIT
# fresh_run N START: a daemon with empty logs of its own, N lines from START, stopped.
fresh_run() {
	: >daemon.log
	: >findings.jsonl
	STARTS=0
	start_daemon
	"$WRITER" logs/app.log "$((${1} < 2000 ? 1000 : 2000))" "$1" --start "$2" >/dev/null
	wait_findings "$1"
	stop_daemon
}
write_config
start_daemon
"$WRITER" logs/app.log 1000 200 >/dev/null
wait_findings 200

expect_rc 2 "$DGAUDIT" daemon -c dgaudit.conf 2>second.err
grep -q "state is in use by PID $DAEMON (state/.lock): one dgaudit daemon or run at a time" \
	second.err || fail "second daemon: $(cat second.err)"
# The daemon's configuration names its state directory: a run with it creates no keys there
# and adds no report to the daemon's chain.
expect_rc 2 "$DGAUDIT" run -c dgaudit.conf logs/app.log 2>run.err >/dev/null
grep -q "state is in use by PID $DAEMON" run.err || fail "run on the state directory: $(cat run.err)"
cat >run.conf <<'CONF'
state_directory = "run-state";
report = { directory = "state/reports"; };
rules = { directories = ["rules"]; packs = []; };
CONF
expect_rc 2 "$DGAUDIT" run -c run.conf logs/app.log 2>chain.err >/dev/null
grep -q "state/reports is in use by PID $DAEMON" chain.err ||
	fail "run on the daemon's chain: $(cat chain.err)"
# With its own state and output, a run goes ahead while the daemon runs.
expect_rc 0 "$DGAUDIT" run -c run.conf -o own-reports logs/app.log >/dev/null 2>&1
ok "a second daemon, and runs on its state directory or chain, are refused naming PID $DAEMON"

"$WRITER" logs/app.log 1000 100 --start 201 >/dev/null
wait_findings 300
stop_daemon
$CHECK findings.jsonl state/reports 300 || fail "lines not audited exactly once"
"$DGAUDIT" verify state/reports >/dev/null || fail "the daemon's chain does not verify"
# The lock goes with the process: after kill -9 the next daemon starts.
start_daemon
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
start_daemon
stop_daemon
ok "the first daemon went on (300 lines once, chain verifies); a lock dies with its process"

# The findings log is created 0640 whatever the umask lets through: findings quote records.
expect_eq "$(umask 022; stat -c %a findings.jsonl)" 640 "findings log mode"
# Rotated while the daemon was stopped: the successor is not the file the checkpoint
# describes, so it is neither cut nor padded to the old length.
mv findings.jsonl findings.jsonl.1
: >findings.jsonl
start_daemon
"$WRITER" logs/app.log 1000 50 --start 301 >/dev/null
wait_findings 50
stop_daemon
if tr -d '\000' <findings.jsonl | cmp -s - findings.jsonl; then :; else
	fail "the rotated findings log's successor was padded with NUL bytes"
fi
expect_eq "$(jq -r '.fields.message' findings.jsonl | head -1)" n000000301 "first finding after rotation"
expect_eq "$(wc -l <findings.jsonl)" 50 "findings in the successor"
grep -q "is not the findings log the checkpoint describes" daemon.log ||
	fail "the rotated findings log was not noticed"
ok "findings log 0640; a successor put in place while stopped is left whole"

# The wall clock stepped back an hour (or on a day): commits and reports go on by the
# monotonic clock.
reports() { find state/reports -maxdepth 1 -name '20*' | wc -l; }
echo 0 >shift
export DG_CLOCK_SHIFT=$WORK/shift LD_PRELOAD=$DG_BUILD_DIR/tests/libdg_faults.so
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
: >findings.jsonl
start_daemon
unset LD_PRELOAD
"$WRITER" logs/app.log 1000 20 --start 351 >/dev/null
wait_findings 20
before=$(reports)
echo -3600 >shift
sleep 0.3
"$WRITER" logs/app.log 1000 20 --start 371 >/dev/null
wait_findings 40
for _ in $(seq 60); do [ "$(reports)" -gt "$before" ] && break; sleep 0.1; done
[ "$(reports)" -gt "$before" ] || fail "no report after the clock stepped back"
echo 86400 >shift
"$WRITER" logs/app.log 1000 20 --start 391 >/dev/null
wait_findings 60
stop_daemon
"$DGAUDIT" verify state/reports >/dev/null || fail "chain broken across clock steps"
ok "clock stepped back 1 h and forward 1 d: findings committed, reports every interval"

# A flood of findings is a line in the journal every 10 s (and at each report), not one per
# commit.
fresh_run 6000 411
lines=$(grep -c "first of each severity" daemon.log)
[ "$lines" -le 5 ] || fail "$lines journal lines for 3 s of findings"
ok "6,000 findings in 3 s: $lines lines in the journal"

# inotify refuses every watch (fs.inotify.max_user_watches reached): a warning says polling
# takes over, /metrics counts the refusals, and every line is still audited.
PORT=$((20000 + RANDOM % 20000))
METRICS=127.0.0.1:$PORT write_config
: >daemon.log
: >findings.jsonl
STARTS=0
DG_NO_WATCHES=1 LD_PRELOAD=$DG_BUILD_DIR/tests/libdg_faults.so start_daemon
"$WRITER" logs/app.log 1000 100 --start 6411 >/dev/null
wait_findings 100
expect_eq "$(grep -c "inotify cannot watch .*fs.inotify.max_user_watches reached.*polling only" \
	daemon.log)" 1 "warnings that watches are refused"
python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
	"http://127.0.0.1:$PORT/metrics" >metrics.txt
awk '$1 == "dgaudit_inotify_watch_failures_total" && $2 > 0 { found = 1 } END { exit !found }' \
	metrics.txt || fail "watch failures not in /metrics: $(grep inotify metrics.txt)"
stop_daemon
ok "inotify refused every watch: warned once, counted in /metrics, 100 lines audited by polling"

# Lost or altered state is never silent. The checkpoint is sealed: an edited offset is refused.
write_config
sed -i "s/packs = \\[\\];/packs = [\"pci-dss\"];/" dgaudit.conf
fresh_run 20 6511
cp state/checkpoint.json good.checkpoint
python3 - state/checkpoint.json <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
open(p, "w").write(re.sub(r'"resume":(\d+)', lambda m: '"resume":%d' % (int(m.group(1)) // 2), s, 1))
PY
expect_rc 2 "$DGAUDIT" daemon -c dgaudit.conf 2>edited.err
grep -q "checkpoint.json was changed since dgaudit wrote it, or written under another state key" \
	edited.err || fail "edited checkpoint: $(cat edited.err)"
cp good.checkpoint state/checkpoint.json
ok "a checkpoint with an edited offset is refused before anything in it is used"

# A file cut short while the daemon was stopped (truncate -s), its start unchanged, and written
# after the cut: where the cut was cannot be known, so it is read again from its start, and an
# integrity event says so. Nothing is lost. (It was taken for a file gone, never read again.)
lines=$(wc -l <logs/app.log)
truncate -s "$(head -n $((lines - 10)) logs/app.log | wc -c)" logs/app.log
"$WRITER" logs/app.log 1000 5 --start 7001 >/dev/null
start_daemon
for _ in $(seq 100); do
	grep -q '"n000007005"' findings.jsonl && break
	sleep 0.1
done
stop_daemon
expect_eq "$(grep -c '"message":"n00000700[1-5]"' findings.jsonl)" 5 "findings after the cut"
expect_eq "$(jq -r 'select(.message == "n000007001") | .record.line' findings.jsonl)" \
	"$((lines - 9))" "the line cited for the first number after the cut"
jq -e -s '[.[].integrity_events[] | select(.type == "shrunk")] | length == 1' \
	state/reports/2*/report.json >/dev/null || fail "the cut is not an integrity event"
expect_eq "$(grep -c '"message":"n000006511"' findings.jsonl)" 2 "findings for a line audited before"
ok "a file cut short while stopped: read again, the 5 lines after the cut audited, the cut declared"

# The checkpoint gone beside a report chain, then a signing key replaced: each is an integrity
# event of the next report and a critical finding.
rm state/checkpoint.json
start_daemon
stop_daemon
grep -q "holds no checkpoint, yet report .* is in state/reports" daemon.log ||
	fail "a lost checkpoint was not said: $(tail -5 daemon.log)"
rm state/signing.key state/signing.key.pub.pem
start_daemon
stop_daemon
grep -q "a new signing key was created beside existing state" daemon.log ||
	fail "a replaced key was not said"
"$DGAUDIT" verify state/reports >verify.out || fail "the chain does not verify"
grep -q "; the signing key changes at report " verify.out ||
	fail "verify does not say the key changed: $(cat verify.out)"
jq -e -s '[.[].integrity_events[].type] | (index("state_lost") != null and
	index("keys_replaced") != null)' state/reports/*/report.json >/dev/null ||
	fail "the reports do not carry the integrity events"
expect_eq "$(jq -r 'select(.rule == "PCI-AUDIT-STATE-LOST") | .fields["dg.integrity"]' \
	findings.jsonl | sort | tr '\n' ' ')" "keys_replaced state_lost " "state findings"
ok "a lost checkpoint and a new signing key: integrity events and critical findings"
