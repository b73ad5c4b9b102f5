#!/usr/bin/env bash
# The daemon as a service: sd_notify messages read from a real datagram socket, /metrics and
# /healthz over HTTP, SIGHUP with a broken rule file (refused with file:line, old rules go on)
# and with a valid one (applied; an unchanged rule keeps its threshold window).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
PORT=$((20000 + RANDOM % 20000))
METRICS=127.0.0.1:$PORT write_config
cat >rules/50-count.conf <<'RULES'
rules = ( { id = "THIRD-DELETE"; title = "three deletes"; severity = "high";
  compliance = ( ("test", "1") );
  select = { d = { field = "event.action"; eq = "delete"; }; };
  threshold = { count = true; group_by = ["user.name"]; window = "1h"; gte = 3; }; } );
RULES
python3 "$DG_SOURCE_DIR/tests/e2e/notify_listen.py" "$WORK/notify.sock" notify.log &
LISTENER=$!
for _ in $(seq 50); do [ -S notify.sock ] && break; sleep 0.05; done
export NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000
start_daemon
"$WRITER" logs/app.log 1000 10 >/dev/null
wait_findings 10
sleep 0.5

# (h) sd_notify
grep -qx "READY=1" notify.log || fail "no READY=1"
grep -q "^STATUS=10 records, 10 findings, 1 files followed" notify.log || fail "no STATUS with counters"
grep -qx "WATCHDOG=1" notify.log || fail "no WATCHDOG=1 with WatchdogSec"
ok "sd_notify: READY=1, STATUS= with live counters, WATCHDOG=1 on a real datagram socket"

# (i) metrics and health over HTTP
get() { python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$1"; }
get "http://127.0.0.1:$PORT/metrics" >metrics.txt || fail "no /metrics"
grep -qx "dgaudit_records_total 10" metrics.txt || fail "records_total"
grep -q '^dgaudit_findings_total{severity="info"} 10$' metrics.txt || fail "findings by severity"
grep -q '^dgaudit_rule_findings{rule="EVERY-LINE"} 10$' metrics.txt || fail "findings by rule"
grep -q '^dgaudit_bytes_behind{path="logs/app.log"} 0$' metrics.txt || fail "bytes behind"
grep -q '^dgaudit_checkpoint_age_seconds ' metrics.txt || fail "checkpoint age"
[ "$(get "http://127.0.0.1:$PORT/healthz")" = ok ] || fail "healthz"
ok "/metrics (records, findings by severity and rule, bytes behind, checkpoint age) and /healthz"

# A hostile local client: 1,100 idle connections, a 20 KB request head, a 50 MB body. The
# daemon audits on, drops the idle ones within its 5 s timeout, refuses the rest, and its
# memory does not grow.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status"; }
rss0=$(rss)
python3 "$DG_SOURCE_DIR/tests/e2e/metrics_flood.py" 127.0.0.1 "$PORT" 1100 >flood.txt &
FLOOD=$!
sleep 1
"$WRITER" logs/app.log 1000 5 --start 1001 >/dev/null
wait_findings 15
wait "$FLOOD" || fail "the flood client failed: $(cat flood.txt)"
grep -qx "closed within 15 s 1100" flood.txt || fail "idle connections kept open: $(cat flood.txt)"
grep -qx "big head HTTP/1.1 431 Request Header Fields Too Large" flood.txt ||
	fail "big head: $(cat flood.txt)"
grep -qx "big body HTTP/1.1 405 Method Not Allowed" flood.txt || fail "big body: $(cat flood.txt)"
grep -qx "after HTTP/1.1 200 OK" flood.txt || fail "/metrics after the flood: $(cat flood.txt)"
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
awk '$1 == "dgaudit_metrics_refused_total{why=\"connections\"}" && $2 > 0 { r = 1 }
	$1 == "dgaudit_metrics_refused_total{why=\"timeout\"}" && $2 > 0 { t = 1 }
	END { exit !(r && t) }' metrics.txt || fail "refusals not counted: $(grep refused metrics.txt)"
[ $(($(rss) - rss0)) -lt 20480 ] || fail "RSS grew from $rss0 to $(rss) KiB"
kill -0 "$DAEMON" || fail "the daemon died"
ok "1,100 idle connections, a 20 KB head, a 50 MB body: auditing went on, all refused or timed out, RSS $rss0 -> $(rss) KiB"

# (g) SIGHUP: a broken rule file is refused, the old rules keep running.
echo '{"@timestamp":"2026-11-02T10:00:00Z","user.name":"x","event.action":"delete"}' >>logs/app.log
echo '{"@timestamp":"2026-11-02T10:00:01Z","user.name":"x","event.action":"delete"}' >>logs/app.log
cp rules/every-line.conf every-line.good
printf 'rules = ( { id = "BROKEN"; title = "t"; severity = "high";\n  compliance = ( ("t", "1") );\n  select = { s = { field = "message"; re = "(unclosed"; }; }; } );\n' \
	>rules/every-line.conf
kill -HUP "$DAEMON"
sleep 0.5
grep -q "reload refused, the running configuration stays: rules/every-line.conf:3: regular expression" daemon.log ||
	fail "broken rule file not refused with file:line"
"$WRITER" logs/app.log 1000 5 --start 11 >/dev/null
wait_findings 15
ok "SIGHUP with a broken rule file: refused with file:line, the old rules still run"

# A valid change to another rule: applied, and THIRD-DELETE keeps its two deletes.
cp every-line.good rules/every-line.conf
sed -i 's/title = "every line"/title = "every numbered line"/' rules/every-line.conf
kill -HUP "$DAEMON"
sleep 0.5
grep -q "configuration reloaded" daemon.log || fail "valid reload not applied"
echo '{"@timestamp":"2026-11-02T10:00:02Z","user.name":"x","event.action":"delete"}' >>logs/app.log
"$WRITER" logs/app.log 1000 1 --start 16 >/dev/null
wait_findings 16
stop_daemon
kill "$LISTENER"
grep -q '"rule":"THIRD-DELETE"' state/reports/2*/report.json || fail "the window was not carried over the reload"
[ "$(tail -1 findings.jsonl | jq -r .title)" = "every numbered line" ] || fail "the new rule set is not in use"
grep -qx "STOPPING=1" notify.log || fail "no STOPPING=1"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "SIGHUP with a valid change: applied; an unchanged threshold rule kept its window; STOPPING=1 at stop"
