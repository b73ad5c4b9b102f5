#!/usr/bin/env bash
# The rule packs as a compliance team meets them: on 200,000 generated events every injected
# violation is found once and nothing else fires; `rules test` passes on every bundled rule and
# fails when a rule stops doing what its tests say; `check` reports every mistake at once with
# the name meant; exceptions exempt what they cover, with their provenance and counts in the
# signed report, and say so once expired; `run --explain` shows why a finding fired.
source "$(dirname "$0")/lib.sh"
C=$DG_SOURCE_DIR/conf/dgaudit.conf
GEN=$DG_BUILD_DIR/tests/dg_gen

# Nothing missed, no false alarm: the findings per rule are the generator's manifest.
"$GEN" 200000 --seed 7 --manifest manifest.txt >events.jsonl
expect_rc 1 "$DGAUDIT" run -c "$C" -o reports events.jsonl >findings.jsonl 2>/dev/null
got=$(jq -r .rule findings.jsonl | sort | uniq -c | awk '{print $2, $1}')
want=$(awk '$2 > 0' manifest.txt | sort)
[ "$got" = "$want" ] || fail "findings differ from the manifest:$(diff <(echo "$want") <(echo "$got"))"
jq -e -s 'map(select(.threshold)) | all(.threshold.state == "closed" and .evidence_count >= .threshold.limit / 1000)' \
	findings.jsonl >/dev/null || fail "a threshold finding is not a closed burst"
expect_eq "$(jq -s 'map(.id) | unique | length' findings.jsonl)" "$(wc -l <findings.jsonl)" \
	"finding ids are unique"
ok "200,000 events: $(wc -l <findings.jsonl) findings, exactly the $(awk '{s+=$2} END {print s}' manifest.txt) injected"

# The report counts what each rule did, and holds the data-sharing register.
R=reports/latest/report.json
expect_eq "$(jq '.rules.stats["PIPL-BULK-EXPORT"].findings' "$R")" \
	"$(awk '$1 == "PIPL-BULK-EXPORT" {print $2}' manifest.txt)" "rule stats findings"
jq -e '.rules.stats | to_entries | all(.value.evaluations <= 200000 and .value.matches <= .value.evaluations)' \
	"$R" >/dev/null || fail "rule stats"
jq -e '.rules.stats["PIPL-SENSITIVE-NO-BASIS"].evaluations < 200000' "$R" >/dev/null ||
	fail "the index did not spare a rule events it cannot match"
jq -e '.sharing_register.recipients | map(.recipient) | index("Data-Broker-Ltd") != null' "$R" \
	>/dev/null || fail "sharing register"
jq -e '.sharing_register.recipients | map(select(.recipient == "Data-Broker-Ltd"))[0].approved == false' \
	"$R" >/dev/null || fail "unapproved recipient in the register"
expect_rc 0 "$DGAUDIT" verify reports/latest >/dev/null
ok "report: per-rule counters, the data-sharing register, and it verifies"

# Every bundled rule has tests, and they pass; a rule tuned away from them fails them.
"$DGAUDIT" rules test >tests.txt || fail "rules test fails on the bundled packs: $(grep -A3 FAIL tests.txt)"
grep -q "^0 failed\|, 0 failed, 0 without tests$" tests.txt || fail "untested bundled rules: $(grep NONE tests.txt)"
[ "$(grep -c '^PASS' tests.txt)" -ge 30 ] || fail "too few rules tested"
printf 'settings = { bulk_export_records = 50000; };\n' >tuned.conf
expect_rc 1 "$DGAUDIT" rules test -c tuned.conf >tuned.txt
grep -q "^FAIL PIPL-BULK-EXPORT" tuned.txt || fail "a tuned rule does not fail its tests"
cat >site-pack.conf <<'EOF'
rules = ( { id = "SITE-X"; title = "t"; severity = "low"; compliance = ( ("X", "1") );
  select = { s = { field = "user.name"; eq = "x"; }; };
  tests = ( { expect = 2; events = ( { at = "2026-03-02T10:00:00Z"; set = ( "user.name", "x" ); } ); } ); } );
EOF
expect_rc 1 "$DGAUDIT" rules test site-pack.conf >site.txt
grep -q "FAIL SITE-X" site.txt && grep -q "1 finding, want 2" site.txt ||
	fail "a site pack's failing test: $(cat site.txt)"
expect_eq "$(grep -c '^PASS\|^FAIL' site.txt)" 1 "only the named pack is tested"
ok "rules test passes on every bundled rule and fails a rule that no longer does what its tests say"

# A site that tunes a rule on purpose says what it now does: its tests replace the pack's.
"$DGAUDIT" rules test -c "$C" >site-tests.txt ||
	fail "the example configuration fails its rule tests: $(grep -A3 FAIL site-tests.txt)"
grep -q "^PASS JRT-SENSITIVE-OFF-HOURS (2 site tests)" site-tests.txt ||
	fail "the site's own tests did not replace the pack's: $(grep OFF-HOURS site-tests.txt)"
sed 's/"08:00-22:00"/"07:00-23:30"/' "$C" >widened.conf
expect_rc 1 "$DGAUDIT" rules test -c widened.conf >widened.txt
grep -q "^FAIL JRT-SENSITIVE-OFF-HOURS (2 site tests)" widened.txt &&
	grep -q "1 finding, want 3" widened.txt ||
	fail "hours widened beyond what the site's tests say pass: $(cat widened.txt)"
cat >bad-site-tests.conf <<'EOF'
rule_tests = (
  { rule = "JRT-EXTERNAL-ACCES"; tests = ( { expect = 0; events = ( { at = "2026-03-02T10:00:00Z"; } ); } ); },
  { rule = "PCI-PAN-IN-LOG"; tests = ( { expect = 0; events = ( { at = "2026-03-02T10:00:00Z"; set = ("user.nam", "x"); } ); } ); },
  { rule = "PCI-PAN-IN-LOG"; tests = ( ); }
);
EOF
expect_rc 2 "$DGAUDIT" check -c bad-site-tests.conf 2>err.txt
for want in \
	"bad-site-tests.conf:2: rule_tests: no rule 'JRT-EXTERNAL-ACCES' is loaded (did you mean 'JRT-EXTERNAL-ACCESS'?)" \
	"bad-site-tests.conf:3: unknown field 'user.nam' (did you mean 'user.name'?)" \
	"bad-site-tests.conf:4: rule_tests: PCI-PAN-IN-LOG has tests already at line 3"; do
	grep -qF "$want" err.txt || fail "check did not say: $want (it said: $(cat err.txt))"
done
expect_eq "$(wc -l <err.txt)" 3 "one line per mistake in rule_tests"
ok "a site's own tests replace a tuned rule's, run with its values, and are checked like the packs'"

# check: every mistake in one run, each file:line, with the name meant.
cat >typos.conf <<'EOF'
settings = { failed_login_windw = "10m"; };
lists = { aproved_recipients = ["UnionPay"]; };
report = { interval = "0s"; };
rules = { disable_rules = ["PIPL-HARVST"]; };
fields = ( { name = "labels.n"; type = "numbr"; } );
daemon = { metrics = "127.0.0.1:notaport"; poll = "0s"; };
EOF
expect_rc 2 "$DGAUDIT" check -c typos.conf 2>err.txt
for want in \
	"typos.conf:6: metrics '127.0.0.1:notaport' is not address:port (a numeric address, a port from 1 to 65535; \"\" for none)" \
	"typos.conf:6: poll must be between 10ms and 1h" \
	"typos.conf:3: interval must be between 1s and 31d" \
	"typos.conf:5: field 'labels.n': type must be string, strings, number, ip, time or bool" \
	"typos.conf:4: disable_rules: no rule 'PIPL-HARVST' (did you mean 'PIPL-HARVEST'?)" \
	"typos.conf:2: list 'aproved_recipients' is declared by no rule pack and used by no rule (did you mean 'approved_recipients'?)" \
	"typos.conf:1: setting 'failed_login_windw' is declared by no rule pack and used by no rule (did you mean 'failed_login_window'?)"; do
	grep -qF "$want" err.txt || fail "check did not say: $want (it said: $(cat err.txt))"
done
printf 'rules = ( { id = "A"; },\n);\n' >comma.conf
printf 'rules = { directories = ["."]; packs = []; };\n' >dir.conf
mkdir d && cp comma.conf d/ && printf 'rules = { directories = ["d"]; };\n' >dir.conf
expect_rc 2 "$DGAUDIT" check -c dir.conf 2>err.txt
grep -q "d/comma.conf:2: syntax error: a ',' before a closing ')' or ']'" err.txt ||
	fail "trailing comma not explained: $(cat err.txt)"
ok "check reports every mistake at once, with the name meant"

# Own rules directory: the bundled packs stay; check lists what is in force.
mkdir own && cat >own/60-site.conf <<'EOF'
rules = ( { id = "SITE-OFF-HOURS-EXPORT"; title = "Export outside office hours"; severity = "high";
  compliance = ( ("JR/T 0171-2020", "6.1.4") );
  select = { e = { field = "event.action"; eq = "export"; };
             off = { field = "@timestamp"; outside = "office_hours"; }; };
  condition = "e and off"; } );
EOF
printf 'rules = { directories = ["own"]; disable_rules = ["PIPL-HARVEST"]; };\n' >own.conf
"$DGAUDIT" check -c own.conf >check.txt
grep -q "pack 60-site.conf" check.txt && grep -q "SITE-OFF-HOURS-EXPORT" check.txt &&
	grep -q "PIPL-BULK-EXPORT" check.txt && grep -q "^disabled PIPL-HARVEST" check.txt ||
	fail "check does not list what is in force: $(cat check.txt)"
ok "a site's own rules directory keeps the bundled packs; check lists packs, rules and what is disabled"

# Exceptions: who approved what until when; exempted matches counted; expired ones named.
cat >exc.conf <<'EOF'
exceptions = "exceptions.conf";
EOF
cat >exceptions.conf <<'EOF'
exceptions = (
  { id = "EXC-1"; rules = ["PIPL-SENSITIVE-NO-BASIS"]; ticket = "CHG-1"; approved_by = "DPO";
    expires = "2099-12-31"; reason = "reconciliation job";
    match = ( { field = "user.name"; eq = "svc_recon"; } ); },
  { id = "EXC-2"; rules = ["PIPL-*"]; ticket = "CHG-2"; approved_by = "DPO";
    expires = "2026-01-01"; match = ( { field = "user.name"; eq = "old_job"; } ); }
);
EOF
{
	for u in svc_recon svc_recon svc_recon old_job alice; do
		printf '{"@timestamp":"2026-11-02T10:00:00+08:00","user.name":"%s","event.action":"read","dg.classification":"C3","dg.object":"core.customers"}\n' "$u"
	done
} >exc.jsonl
expect_rc 1 "$DGAUDIT" run -c exc.conf -o exc-reports --explain exc.jsonl >exc-findings.jsonl 2>/dev/null
expect_eq "$(jq -r '.fields."user.name"' exc-findings.jsonl | tr '\n' ' ')" "old_job alice " \
	"exempted users"
expect_eq "$(jq -r 'select(.fields."user.name" == "old_job") | .expired_exceptions[0].id' exc-findings.jsonl)" \
	"EXC-2" "expired exception named on the finding"
E=exc-reports/latest/report.json
expect_eq "$(jq -c '.rules.exceptions | map([.id, .state, .exempted, .expired_matches, .approved_by, .ticket])' "$E")" \
	'[["EXC-1","active",3,0,"DPO","CHG-1"],["EXC-2","expired",0,1,"DPO","CHG-2"]]' "exceptions in the report"
expect_eq "$(jq '.rules.stats["PIPL-SENSITIVE-NO-BASIS"] | [.matches, .exempted, .findings]' -c "$E")" \
	"[5,3,2]" "rule counters"
jq -e '.producer.files | map(select(.path | endswith("exceptions.conf"))) | length == 1' "$E" >/dev/null ||
	fail "the exceptions file is not among the report's inputs"
expect_rc 0 "$DGAUDIT" verify exc-reports/latest >/dev/null
# --explain: the blocks and conditions with the values seen, and why each exception did not apply.
jq -e -s 'map(select(.fields."user.name" == "alice"))[0] | .explain.blocks.sensitive.holds == true and
	.explain.blocks.consent.holds == false and
	(.explain.exceptions | map(.why) == ["its conditions do not hold", "its conditions do not hold"])' exc-findings.jsonl >/dev/null ||
	fail "explain: $(jq -c 'select(.fields."user.name" == "alice") | .explain' exc-findings.jsonl)"
jq -e -s 'map(select(.fields."user.name" == "old_job"))[0] | .explain.exceptions |
	map(select(.id == "EXC-2")) | .[0].why == "it had expired"' exc-findings.jsonl >/dev/null ||
	fail "explain: expired exception"
expect_rc 1 "$DGAUDIT" run -c exc.conf -o exc-reports exc.jsonl >plain.jsonl 2>/dev/null
jq -e -s 'map(has("explain")) | any | not' plain.jsonl >/dev/null || fail "explanations without --explain"
ok "exceptions exempt and are counted with their provenance; expired ones are named; --explain says why"

# max_keys: a rule keeps that many groups; the least recently seen goes, counted in the report.
mkdir keys && cat >keys/60-keys.conf <<'EOF'
rules = ( { id = "SITE-DELETES"; title = "many deletes"; severity = "low";
  compliance = ( ("PCI DSS 4.0", "10.2.1.7") );
  select = { d = { field = "event.action"; eq = "delete"; }; };
  threshold = { count = true; group_by = ["user.name"]; window = "1h"; gte = 3; max_keys = 2; }; } );
EOF
printf 'rules = { directories = ["keys"]; packs = []; };\n' >keys.conf
for u in u1 u1 u2 u3 u2 u2; do
	printf '{"@timestamp":"2026-11-02T10:00:00Z","user.name":"%s","event.action":"delete"}\n' "$u"
done >keys.jsonl
expect_rc 0 "$DGAUDIT" run -c keys.conf -o keys-reports keys.jsonl >keys-findings.jsonl 2>/dev/null
expect_eq "$(jq -c '.rules.stats["SITE-DELETES"] | [.evicted_groups, .evicted_records, .findings]' keys-reports/latest/report.json)" \
	"[1,2,1]" "evictions in the report (u1's two records go when u3 comes)"
ok "groups evicted at max_keys are counted in the report, with the records they held"
