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
# health: "STATUS BODY" of /healthz, 503 included
health() {
	python3 -c "
import urllib.request, urllib.error, sys
try:
    r = urllib.request.urlopen(sys.argv[1]); print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())" "http://127.0.0.1:$PORT/healthz"
}
metric() { awk -v k="$1" '$1 == k { print $2 }' metrics.txt; }
get "http://127.0.0.1:$PORT/metrics" >metrics.txt || fail "no /metrics"
grep -qx "dgaudit_records_total 10" metrics.txt || fail "records_total"
grep -q '^dgaudit_findings_total{severity="info"} 10$' metrics.txt || fail "findings by severity"
grep -q '^dgaudit_rule_findings_total{rule="EVERY-LINE"} 10$' metrics.txt || fail "findings by rule"
grep -q '^dgaudit_bytes_behind{path="logs/app.log"} 0$' metrics.txt || fail "bytes behind"
grep -q '^dgaudit_checkpoint_age_seconds ' metrics.txt || fail "checkpoint age"
[ "$(get "http://127.0.0.1:$PORT/healthz")" = ok ] || fail "healthz"
ok "/metrics (records, findings by severity and rule, bytes behind, checkpoint age) and /healthz"

# A file name with a quote, a backslash and a byte that is not UTF-8 (it used to break the whole
# scrape): escaped; promtool (Prometheus's own checker) accepts the exposition.
odd=$(printf 'logs/app.log"q\\b\377')
"$WRITER" "$odd" 1000 1 --start 100000 >/dev/null
wait_findings 11
sleep 0.5
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
grep -qF 'dgaudit_bytes_behind{path="logs/app.log\"q\\b'$'\xef\xbf\xbd''"} 0' metrics.txt ||
	fail "label not escaped: $(grep bytes_behind metrics.txt)"
for f in $(awk '$1 == "#" && $2 == "TYPE" { print $3 }' metrics.txt); do
	grep -q "^# HELP $f " metrics.txt || fail "no HELP for $f"
done
promtool check metrics <metrics.txt >promtool.txt 2>&1 || fail "promtool: $(cat promtool.txt)"
ok "label values escaped, HELP and TYPE for every family: promtool check metrics passes"

# A hostile local client: 1,100 idle connections, a 20 KB request head, a 50 MB body. The
# daemon audits on, drops the idle ones within its 5 s timeout, refuses the rest, and its
# memory does not grow.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status"; }
rss0=$(rss)
python3 "$DG_SOURCE_DIR/tests/e2e/metrics_flood.py" 127.0.0.1 "$PORT" 1100 >flood.txt &
FLOOD=$!
sleep 1
"$WRITER" logs/app.log 1000 5 --start 1001 >/dev/null
wait_findings 16
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
# (under ASan, whose quarantine keeps what is freed, RSS says nothing: the optimised run checks)
[ -n "${DG_SANITIZED:-}" ] || [ $(($(rss) - rss0)) -lt 20480 ] ||
	fail "RSS grew from $rss0 to $(rss) KiB"
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
wait_findings 21
h=$(health)
case $h in "503 reload refused (the running configuration stays): rules/every-line.conf:3: "*) ;;
*) fail "/healthz after a refused reload: $h" ;; esac
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
[ "$(metric dgaudit_reload_refused)" = 1 ] || fail "dgaudit_reload_refused not 1"
before=$(metric 'dgaudit_rule_findings_total{rule="EVERY-LINE"}')
ok "SIGHUP with a broken rule file: refused with file:line, the old rules still run, /healthz says so"

# A valid change to another rule: applied, and THIRD-DELETE keeps its two deletes.
cp every-line.good rules/every-line.conf
sed -i 's/title = "every line"/title = "every numbered line"/' rules/every-line.conf
kill -HUP "$DAEMON"
sleep 0.5
grep -q "configuration reloaded" daemon.log || fail "valid reload not applied"
[ "$(health)" = "200 ok" ] || fail "/healthz after a good reload: $(health)"
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
[ "$(metric 'dgaudit_rule_findings_total{rule="EVERY-LINE"}')" -ge "$before" ] ||
	fail "rule findings dropped at a reload: $before -> $(metric 'dgaudit_rule_findings_total{rule="EVERY-LINE"}')"
echo '{"@timestamp":"2026-11-02T10:00:02Z","user.name":"x","event.action":"delete"}' >>logs/app.log
"$WRITER" logs/app.log 1000 1 --start 16 >/dev/null
wait_findings 23
sleep 0.5
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
cp metrics.txt metrics.before
stop_daemon
kill "$LISTENER"
grep -q '"rule":"THIRD-DELETE"' state/reports/2*/report.json || fail "the window was not carried over the reload"
[ "$(tail -1 findings.jsonl | jq -r .title)" = "every numbered line" ] || fail "the new rule set is not in use"
grep -qx "STOPPING=1" notify.log || fail "no STOPPING=1"
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "SIGHUP with a valid change: applied; an unchanged threshold rule kept its window; STOPPING=1 at stop"

# Counters go on across a restart (records_total and findings_total used to disagree: one from
# the checkpoint, the other from zero).
start_daemon
sleep 0.5
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
for k in dgaudit_records_total 'dgaudit_findings_total{severity="info"}' \
	'dgaudit_rule_findings_total{rule="EVERY-LINE"}'; do
	was=$(awk -v k="$k" '$1 == k { print $2 }' metrics.before)
	[ "$(metric "$k")" = "$was" ] || fail "$k: $was before the restart, $(metric "$k") after"
done
# the stop's final report: one more report, and the third delete's finding it closed
[ "$(metric dgaudit_reports_total)" = $(($(awk '$1 == "dgaudit_reports_total" { print $2 }' metrics.before) + 1)) ] ||
	fail "reports_total after the restart: $(metric dgaudit_reports_total)"
[ "$(metric 'dgaudit_findings_total{severity="high"}')" = 1 ] || fail "the high finding of the stop"
stop_daemon
ok "counters after a restart go on from those before it"
