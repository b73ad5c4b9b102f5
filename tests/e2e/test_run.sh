#!/usr/bin/env bash
# `dgaudit run` on the bundled samples: the expected findings, the malformed records, a signed
# bundle that `dgaudit verify`, stock `openssl` and `sha256sum` accept, and that all of them
# reject once one byte changes, the signature is swapped, or another key is claimed.
source "$(dirname "$0")/lib.sh"
S=$DG_SOURCE_DIR/conf/samples

expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o reports \
	"$S"/*.jsonl "$S"/*.gz >findings.jsonl 2>summary.txt
grep -q "signed report reports/" summary.txt || fail "no report path in the summary"
ok "run exits 1 on high findings and names its report"

# Findings per rule, and every finding is one JSON object per line with evidence.
while read -r rule want; do
	case $rule in
	malformed | records) continue ;;
	esac
	got=$(jq -r --arg r "$rule" 'select(.rule == $r) | .rule' findings.jsonl | wc -l)
	expect_eq "$got" "$want" "findings of $rule"
done <"$DG_SOURCE_DIR/tests/e2e/samples.expected"
[ "$(jq -c 'select(.evidence_count < 1 or (.evidence | length) < 1)' findings.jsonl)" = "" ] ||
	fail "a finding without evidence"
jq -e -s 'map(.record.line > 0 and .record.offset >= 0 and (.record.input | length) > 0) | all' \
	findings.jsonl >/dev/null || fail "record references"
ok "findings match the samples' expectations, each with evidence"

# Threshold findings cite every contributing record (capped) and count them all.
jq -e -s 'map(select(.rule == "PIPL-BULK-EXPORT")) | all(.evidence_count >= 12 and
	(.evidence | length) >= 12 and .threshold.value >= 10000)' findings.jsonl >/dev/null ||
	fail "bulk export evidence"
ok "bulk export split into small exports is caught with all its records"

# No personal data in clear: subject ids pseudonymised, numbers masked.
if grep -E '"C[0-9]{7}"|62220[0-9]{11}|110105[0-9]{11}[0-9X]' findings.jsonl; then
	fail "personal data in clear in findings"
fi
ok "findings carry no subject id, card or identity number in clear"

B=reports/latest
[ -f "$B/report.json" ] || fail "no report bundle"
want_malformed=$(awk '$1 == "malformed" {print $2}' "$DG_SOURCE_DIR/tests/e2e/samples.expected")
want_records=$(awk '$1 == "records" {print $2}' "$DG_SOURCE_DIR/tests/e2e/samples.expected")
expect_eq "$(jq .malformed.count "$B/report.json")" "$want_malformed" "malformed count"
expect_eq "$(jq .summary.records "$B/report.json")" "$want_records" "records"
expect_eq "$(jq '.malformed.listed | map(select(.input | endswith(".gz"))) | length' \
	"$B/report.json")" "$want_malformed" "malformed listed with their file"
expect_eq "$(jq '.summary.findings' "$B/report.json")" "$(wc -l <findings.jsonl)" "report findings"
expect_eq "$(jq -r '.inputs[] | select(.compressed) | .file_sha256' "$B/report.json")" \
	"$(sha256sum "$S"/*.gz | cut -d' ' -f1)" "archive digest"
expect_eq "$(jq -r '.inputs[] | select(.compressed | not) | .sha256' "$B/report.json")" \
	"$(sha256sum "$S"/*.jsonl | cut -d' ' -f1)" "plain input digest"
# Every bundled pack but gdpr, which is off unless named.
expect_eq "$(jq -r .producer.rules_sha256 "$B/report.json")" \
	"$(cd "$DG_SOURCE_DIR/conf/rules.d" && LC_ALL=C sha256sum $(ls *.conf | grep -v gdpr) |
		sha256sum | cut -d' ' -f1)" "rules digest"
ok "report: records, malformed with location, input digests, ruleset digest"

# The report is canonical JSON: jq's sorted compact form is byte-identical (integers only).
cmp -s <(jq -cS . "$B/report.json" | tr -d '\n') "$B/report.json" || fail "not canonical"
ok "report.json is canonical JSON"

# Verification: dgaudit, and the stock tools exactly as VERIFY.txt says.
expect_rc 0 "$DGAUDIT" verify "$B" >/dev/null
(cd "$B" && sha256sum --quiet -c SHA256SUMS) || fail "sha256sum -c"
cmd=$(grep -E '^  openssl (pkeyutl|dgst) ' "$B/VERIFY.txt" | sed 's/^  //')
(cd "$B" && eval "$cmd") >/dev/null || fail "stock openssl rejects a good bundle: $cmd"
expect_eq "$(openssl pkey -pubin -in "$B/signer.pub.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
	"$("$DGAUDIT" verify "$B" | sed 's/.*sha256://')" "key fingerprint"
ok "bundle verifies with dgaudit verify, sha256sum and openssl pkeyutl -rawin"

# Tampering: one flipped byte in report.json.
cp -r "$(readlink -f "$B")" tampered
perl -0777 -pi -e 'substr($_, 199, 1) ^= "\x01"' tampered/report.json
cmp -s tampered/report.json "$B/report.json" && fail "byte not flipped"
expect_rc 1 "$DGAUDIT" verify tampered 2>problems.txt >/dev/null
grep -q "signature check failed" problems.txt || fail "dgaudit verify did not name the signature"
grep -q "report.json does not match its SHA-256" problems.txt || fail "no digest complaint"
(cd tampered && ! eval "$cmd" >/dev/null 2>&1) || fail "openssl accepted a changed report"
(cd tampered && ! sha256sum --quiet -c SHA256SUMS 2>/dev/null) || fail "sha256sum accepted it"
ok "a flipped byte fails dgaudit verify, openssl and sha256sum"

# A signature from another run over the same data.
expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o other "$S"/*.jsonl \
	>/dev/null 2>&1
cp -r "$(readlink -f "$B")" swapped
cp other/latest/report.json.sig swapped/
expect_rc 1 "$DGAUDIT" verify swapped 2>/dev/null >/dev/null
(cd swapped && ! eval "$cmd" >/dev/null 2>&1) || fail "openssl accepted a swapped signature"
ok "a swapped signature fails"

# Another key: the bundle is not what that key signed.
"$DGAUDIT" keygen -o other.key >/dev/null
expect_rc 1 "$DGAUDIT" verify --pubkey other.key.pub.pem "$B" 2>problems.txt >/dev/null
grep -q "with the key given by --pubkey" problems.txt || fail "other key not named"
expect_rc 0 "$DGAUDIT" verify --pubkey "$XDG_STATE_HOME/dgaudit/signing.key.pub.pem" "$B" >/dev/null
ok "verification against another key fails, against the signer's passes"

# Standard input, and a file named twice through a glob and a path.
expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o stdin-reports - \
	<"$S/core-banking-access.jsonl" >stdin.jsonl 2>/dev/null
expect_eq "$(jq -r '.record.input' stdin.jsonl | sort -u)" "(stdin)" "stdin input name"
ok "standard input is audited"

# Runs into one report directory continue its chain (each used to be report 1: verify DIR
# failed), also when latest is gone or lags behind the newest bundle.
for i in 1 2 3; do
	expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o chain "$S"/*.jsonl \
		>/dev/null 2>&1
done
expect_eq "$(jq -r .report_seq chain/2*/report.json | tr '\n' ' ')" "1 2 3 " "seqs of three runs"
expect_eq "$(jq -r .prev_report_sha256 chain/latest/report.json)" \
	"$(sha256sum <"$(ls -d chain/*-000002-*)/report.json" | cut -d' ' -f1)" "run 3 follows run 2"
rm chain/latest
expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o chain "$S"/*.jsonl \
	>/dev/null 2>&1
ln -sfn "$(basename "$(ls -d chain/*-000001-*)")" chain/latest # a link that lags
expect_rc 1 "$DGAUDIT" run -c "$DG_SOURCE_DIR/conf/dgaudit.conf" -o chain "$S"/*.jsonl \
	>/dev/null 2>&1
expect_rc 0 "$DGAUDIT" verify chain >verify.txt
grep -q "5 reports, seq 1 to 5, chained from the first" verify.txt || fail "$(cat verify.txt)"
ok "runs into one report directory continue its chain; verify DIR accepts it"
