#!/usr/bin/env bash
# The rule language in the daemon: a threshold burst alerts at once, is carried in the report of
# each period it spans and across a restart, and closes with its true total under the same
# finding id; an exception exempts what it covers, counted in /metrics and the report; a reload
# with a broken exceptions file is refused, a valid one applies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
PORT=$((20000 + RANDOM % 20000))
METRICS=127.0.0.1:$PORT write_config
echo 'exceptions = "exceptions.conf";' >>dgaudit.conf
cat >rules/50-burst.conf <<'RULES'
rules = ( { id = "EXPORTS"; title = "three exports in an hour"; severity = "high";
  compliance = ( ("test", "1") );
  select = { e = { field = "event.action"; eq = "export"; }; };
  threshold = { count = true; group_by = ["user.name"]; window = "1h"; gte = 3; };
  message = "{user.name}: {threshold.value} exports"; } );
RULES
cat >exceptions.conf <<'EOF2'
exceptions = ( { id = "EXC-SVC"; rules = ["EXPORTS"]; ticket = "CHG-1"; approved_by = "DPO";
  expires = "2099-01-01"; match = { field = "user.name"; eq = "svc"; }; } );
EOF2
ev() { printf '{"@timestamp":"2026-11-02T%sZ","user.name":"%s","event.action":"%s"}\n' "$1" "$2" "$3" >>logs/app.log; }
get() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

start_daemon
# svc first: when alice's third export alerts, every exempt one has been evaluated
for t in 10:00:00 10:00:10 10:00:20; do ev "$t" svc export; ev "$t" alice export; done
wait_findings 1
id=$(jq -r .id findings.jsonl)
jq -e '.threshold.state == "open" and .threshold.value == 3' findings.jsonl >/dev/null ||
	fail "the alert: $(cat findings.jsonl)"
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
grep -qx 'dgaudit_exception_exempted_total{exception="EXC-SVC"} 3' metrics.txt ||
	fail "exempted matches in /metrics: $(grep exception metrics.txt)"
grep -qx 'dgaudit_rule_matches_total{rule="EXPORTS"} 6' metrics.txt &&
	grep -qx 'dgaudit_rule_exempted_total{rule="EXPORTS"} 3' metrics.txt &&
	grep -q '^dgaudit_rule_cpu_seconds_total{rule="EXPORTS"} ' metrics.txt ||
	fail "rule counters in /metrics: $(grep dgaudit_rule_ metrics.txt)"
ok "a burst alerts at once; the exception's exemptions and the rule's counters are in /metrics"

# A broken exceptions file is refused on SIGHUP, with file and line; a valid one applies.
echo 'exceptions = ( { id = "EXC-BOB"; rules = ["EXPORTS"]; match = { field = "user.name"; eq = "bob"; }; } );' >exceptions.conf
kill -HUP "$DAEMON"
for _ in $(seq 100); do grep -q "reload refused" daemon.log && break; sleep 0.05; done
grep -q "reload refused.*exceptions.conf:1: an exception needs ticket" daemon.log ||
	fail "broken exceptions not refused: $(tail -3 daemon.log)"
sleep 2.5 # a report period ends while the burst goes on
stop_daemon
jq -e -s --arg id "$id" 'map(select(.findings | map(.id == $id and .threshold.state == "open") | any)) | length >= 1' \
	$(find state/reports -name report.json -not -path "*/latest/*") >/dev/null || fail "no report carries the open burst"

cat >exceptions.conf <<'EOF2'
exceptions = ( { id = "EXC-SVC"; rules = ["EXPORTS"]; ticket = "CHG-1"; approved_by = "DPO";
  expires = "2099-01-01"; match = { field = "user.name"; eq = "svc"; }; },
  { id = "EXC-BOB"; rules = ["EXPORTS"]; ticket = "CHG-2"; approved_by = "DPO";
  expires = "2099-01-01"; match = { field = "user.name"; eq = "bob"; }; } );
EOF2
start_daemon
ev 10:30:00 alice export # joins the burst, across the restart
for t in 11:00:00 11:00:01 11:00:02; do ev "$t" bob export; done # exempt now
ev 13:00:00 carol login # event time moves on: alice's burst can grow no more
wait_findings 2
jq -e -s --arg id "$id" '.[1] | .id == $id and .threshold.state == "closed" and .threshold.value == 4 and
	.evidence_count == 4' findings.jsonl >/dev/null || fail "the closed burst: $(tail -1 findings.jsonl)"
expect_eq "$(wc -l <findings.jsonl)" 2 "findings (bob is exempt)"
get "http://127.0.0.1:$PORT/metrics" >metrics.txt
grep -qx 'dgaudit_exception_exempted_total{exception="EXC-BOB"} 3' metrics.txt ||
	fail "the reloaded exception: $(grep exception metrics.txt)"
stop_daemon
jq -e -s --arg id "$id" 'map(.findings[] | select(.id == $id and .threshold.state == "closed")) | length == 1' \
	$(find state/reports -name report.json -not -path "*/latest/*") >/dev/null || fail "the closed burst is not in exactly one report"
expect_rc 0 "$DGAUDIT" verify state/reports >/dev/null
ok "the burst is carried across periods and a restart and closes with its true total under one id"
