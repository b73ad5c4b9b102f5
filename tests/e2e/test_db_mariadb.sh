#!/usr/bin/env bash
# A real MariaDB with server_audit runs the scripted workload (tests/e2e/db/my_workload.sh).
# `dgaudit run` on the audit log must parse every record (none malformed) and report exactly
# the findings the workload provokes; the table records name the objects of their QUERY.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/db_lib.sh"
trap 'stop_servers; cleanup' EXIT
CONF=$DG_SOURCE_DIR/tests/e2e/db/db.conf

start_mariadb
OUTFILE=$WORK/my/customers.txt "$DG_SOURCE_DIR/tests/e2e/db/my_workload.sh" \
	-h 127.0.0.1 -P "$MYPORT" >/dev/null 2>workload.err
stop_mariadb
ok "$(mariadbd --version | awk '{print $3}') ran the workload"

lines=$(wc -l <"$MYLOG")
grep -q "QUERY,core,'SET GLOBAL server_audit_logging = OFF',0" "$MYLOG" ||
	fail "the server did not log turning its audit log off"
if grep -q "WHERE id = 10" "$MYLOG"; then fail "server_audit logged after being turned off"; fi

expected=$(sort <<'EOF2'
DB-EXPORT-CLASSIFIED analyst core.customers
DB-EXPORT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.accounts
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED root core.accounts
DB-GRANT-CLASSIFIED root core.customers
DB-SELECT-STAR-SENSITIVE analyst core.customers
DB-SELECT-STAR-SENSITIVE analyst core.customers
JRT-ID-NUMBER-IN-LOG dba core.customers
PCI-AUDIT-CONFIG-CHANGE dba server_audit_excl_users
PCI-AUDIT-CONFIG-CHANGE dba server_audit_logging
PCI-AUDIT-FIELDS-MISSING intern core.accounts
PCI-AUDIT-GAP dba server_audit_excl_users
PCI-AUDIT-GAP dba server_audit_logging
PCI-AUDIT-TRAIL-TAMPERING dba server_audit_excl_users
PCI-AUDIT-TRAIL-TAMPERING dba server_audit_logging
PCI-LOGIN-AFTER-FAILURES teller -
PCI-PRIVILEGE-CHANGE dba core.branches
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers_masked
PCI-PRIVILEGE-CHANGE dba mysql.db
PCI-PRIVILEGE-CHANGE dba mysql.db
PCI-PRIVILEGE-CHANGE dba mysql.roles_mapping
PCI-PRIVILEGE-CHANGE root core.customers
PCI-PRIVILEGE-CHANGE root mysql.db
PCI-PRIVILEGE-CHANGE root mysql.db
PCI-PRIVILEGE-CHANGE root mysql.db
PCI-PRIVILEGE-CHANGE root mysql.db
PCI-REPEATED-DENIED intern core.customers_masked
PIPL-SENSITIVE-NO-BASIS analyst core.customers
PIPL-SENSITIVE-NO-BASIS analyst core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS intern core.customers
PIPL-SENSITIVE-NO-BASIS teller core.customers
PIPL-SENSITIVE-NO-BASIS teller core.customers
EOF2
)
expect_rc 1 "$DGAUDIT" run -c "$CONF" -o reports "$MYLOG" >findings.jsonl 2>summary.txt
R=reports/latest/report.json
jq -e '.inputs[0].malformed == 0 and .inputs[0].format == "mariadb"' "$R" >/dev/null ||
	fail "malformed records: $(jq -c '.malformed' "$R")"
expect_eq "$(jq '.inputs[0].records' "$R")" "$lines" "records (one per line)"
expect_findings findings.jsonl server_audit
"$DGAUDIT" verify reports/latest >/dev/null || fail "report does not verify"
ok "$lines records, none malformed, exactly the expected findings"

# Statements are decoded: the plugin's \' and \n escapes become quotes and newlines.
jq -e -s 'map(select(.rule == "JRT-ID-NUMBER-IN-LOG")) | .[0].fields["db.query.text"]
	| test("^INSERT INTO core.customers\n  SELECT seq, concat\\(.customer ., seq\\)")' \
	findings.jsonl >/dev/null || fail "the statement was not decoded"
jq -e -s 'map(select(.rule == "DB-GRANT-CLASSIFIED" and .fields["user.name"] == "dba")) |
	any(.fields["db.query.text"] == "GRANT SELECT ON core.customers TO intern@\u0027%\u0027")' \
	findings.jsonl >/dev/null ||
	fail "the grant was not decoded"
ok "statements with quotes and newlines are decoded"

# What the statement's verb hides: the dump's SELECT is an export, the copy's source a read, a
# grant on core.* one on each catalogued table of core, and the masked view is read without
# its table (no finding for the teller's SELECT * on it).
jq -e -s 'map(select(.rule == "DB-EXPORT-CLASSIFIED" and .fields["user.name"] == "dba"))
	| .[0].fields["db.query.text"] | test("SQL_NO_CACHE")' findings.jsonl >/dev/null ||
	fail "the dump is not an export"
jq -e -s 'map(select(.rule == "DB-GRANT-CLASSIFIED" and
	(.fields["db.query.text"] | test("ON core\\.\\*")))) | map(.fields["dg.object"]) | sort ==
	["core.accounts", "core.customers"]' findings.jsonl >/dev/null ||
	fail "a grant on core.* does not cover the catalogued tables"
jq -e -s 'map(select(.fields["db.query.text"] // "" | test("customers_masked WHERE"))) == []' \
	findings.jsonl >/dev/null || fail "reading the masked view raised a finding"
jq -e -s 'map(select(.rule == "PCI-REPEATED-DENIED")) | .[0].message ==
	"intern was refused 6 accesses within 10m"' findings.jsonl >/dev/null ||
	fail "the intern's refusals were not reported"
jq -e -s 'map(select(.fields["user.name"] == "intern" and .rule == "PIPL-SENSITIVE-NO-BASIS"))
	| map(.fields["user.effective.name"]) == ["auditor_ro"]' findings.jsonl >/dev/null ||
	fail "the read after SET ROLE does not name the role"
ok "a dump is an export, core.* covers its tables, a masked view is not its table, refusals add up, a read under SET ROLE names the role"

# Query ids are the server's: the ids skipped while logging was off (one statement) and while
# the teller was excluded (three) are holes in the trail, reported as findings and as
# integrity events of the signed report.
jq -e -s 'map(select(.rule == "PCI-AUDIT-GAP")) | map(.fields["dg.audit_gap"]) == [1, 3]' \
	findings.jsonl >/dev/null || fail "audit gaps: $(jq -c 'select(.rule == "PCI-AUDIT-GAP")
	| .message' findings.jsonl)"
jq -e '.integrity_events | map(select(.type == "audit_gap")) | length == 2' "$R" >/dev/null ||
	fail "the report does not carry the audit gaps"
ok "statements run while server_audit was off or a user excluded are reported as gaps"

# server_audit writes local time: --timezone (or the source's timezone) places it in UTC.
first=$(head -1 "$MYLOG" | cut -d, -f1)
want=$(TZ=Asia/Shanghai date -u -d "$(TZ=Asia/Shanghai date -d "${first:0:8} ${first:9}" +@%s)" \
	+%Y-%m-%dT%H:%M:%SZ)
expect_rc 1 "$DGAUDIT" run -c "$CONF" -o reports-sh --timezone Asia/Shanghai "$MYLOG" \
	>findings-sh.jsonl 2>/dev/null
expect_eq "$(jq -r '.period.start' reports-sh/latest/report.json)" "$want" \
	"report period start read in Asia/Shanghai"
cat >bad-tz.conf <<'CONF'
databases = {
  timezone = "Mars/Olympus";
  search_paths = { bank = "core"; };
};
assets = ( { object = "core.t"; classification = "c3"; } );
CONF
expect_rc 2 "$DGAUDIT" check -c bad-tz.conf 2>check.err
grep -q "^bad-tz.conf:2: time zone 'Mars/Olympus' is unknown" check.err ||
	fail "bad time zone message: $(cat check.err)"
grep -q '^bad-tz.conf:3: a search path is a list of schemas' check.err ||
	fail "bad search path message: $(cat check.err)"
grep -q "^bad-tz.conf:5: classification 'c3' is not one of classification_levels (C1, C2, C3)" \
	check.err || fail "bad classification message: $(cat check.err)"
ok "local times read in the configured IANA zone; an unknown zone is refused at its line"
