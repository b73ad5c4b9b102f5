#!/usr/bin/env bash
# The state directory and the report chain have one writer: a second daemon, or a run adding to
# the same chain or creating keys in the same state directory, is refused with the holder's PID,
# and the first goes on unharmed (its chain verifies, every line once).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
trap 'kill "$DAEMON" 2>/dev/null || true; cleanup' EXIT
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
