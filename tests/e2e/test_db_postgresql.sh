#!/usr/bin/env bash
# A real PostgreSQL 15 with pgaudit runs the scripted workload (tests/e2e/db/pg_workload.sh)
# and writes its log as stderr text, csvlog and jsonlog at once. `dgaudit run` on each of the
# three must parse every record (none malformed), agree on the record count, and report
# exactly the findings the workload provokes, each with the right user and object.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/db_lib.sh"
trap 'stop_servers; cleanup' EXIT
CONF=$DG_SOURCE_DIR/tests/e2e/db/db.conf

# log_statement_once: a statement's text only on its first record, <previously logged> on the
# records of the other tables it touches.
# pgaudit.role: object auditing on top of session auditing, so reads of core.customers are
# written twice (OBJECT and SESSION), and must count once.
start_postgres "pgaudit.log_statement_once = on" "pgaudit.role = 'auditor'"
PGPASSWORD= "$DG_SOURCE_DIR/tests/e2e/db/pg_workload.sh" -h 127.0.0.1 -p "$PGPORT" >/dev/null \
	2>workload.err
stop_postgres
ok "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') ran the workload"

messages=$(wc -l <"$(ls "$PGLOGDIR"/*.json)")
grep -q '<previously logged>' "$PGLOGDIR"/*.log || fail "pgaudit.log_statement_once is not in effect"
audits=$(grep -c '"message":"AUDIT: ' "$(ls "$PGLOGDIR"/*.json)")
[ "$audits" -ge 20 ] || fail "only $audits AUDIT records: is pgaudit logging?"

# The findings the workload must give, as "rule user object", sorted.
expected=$(sort <<'EOF2'
DB-EXPORT-CLASSIFIED analyst core.accounts
DB-EXPORT-CLASSIFIED analyst core.accounts
DB-EXPORT-CLASSIFIED analyst core.customers
DB-EXPORT-CLASSIFIED dba core.branches
DB-EXPORT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.accounts
DB-GRANT-CLASSIFIED dba core.accounts
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-GRANT-CLASSIFIED dba core.customers
DB-SELECT-STAR-SENSITIVE analyst core.customers
DB-SELECT-STAR-SENSITIVE dba core.customers
JRT-ID-NUMBER-IN-LOG dba core.customers
JRT-PRIVILEGED-BULK-READ dba core.customers
PCI-AUDIT-CONFIG-CHANGE dba pgaudit
PCI-AUDIT-CONFIG-CHANGE dba pgaudit.log_rows
PCI-AUDIT-TRAIL-TAMPERING dba pgaudit.log
PCI-LOGIN-AFTER-FAILURES teller -
PCI-LOGIN-UNKNOWN-ACCOUNT scan_admin -
PCI-PRIVILEGE-CHANGE dba -
PCI-PRIVILEGE-CHANGE dba core.accounts
PCI-PRIVILEGE-CHANGE dba core.branches
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers
PCI-PRIVILEGE-CHANGE dba core.customers_masked
PCI-PRIVILEGE-CHANGE dba reports.daily
PCI-PRIVILEGE-CHANGE postgres -
PCI-PRIVILEGE-CHANGE postgres -
PCI-PRIVILEGE-CHANGE postgres -
PCI-PRIVILEGE-CHANGE postgres -
PCI-PRIVILEGE-CHANGE postgres -
PCI-REPEATED-DENIED intern core.customers
PIPL-SENSITIVE-NO-BASIS analyst core.accounts
PIPL-SENSITIVE-NO-BASIS analyst core.customers
PIPL-SENSITIVE-NO-BASIS analyst core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS dba core.customers
PIPL-SENSITIVE-NO-BASIS teller core.customers
PIPL-SENSITIVE-NO-BASIS teller core.customers
PIPL-SENSITIVE-NO-BASIS teller core.customers
EOF2
)

for ext in log csv json; do
	file=$(ls "$PGLOGDIR"/*."$ext")
	expect_rc 1 "$DGAUDIT" run -c "$CONF" -o "reports-$ext" "$file" >"findings-$ext.jsonl" \
		2>"summary-$ext.txt"
	jq -e '.inputs[0].malformed == 0' "reports-$ext/latest/report.json" >/dev/null ||
		fail "$ext: malformed records: $(jq -c '.malformed' "reports-$ext/latest/report.json")"
	records=$(jq '.inputs[0].records' "reports-$ext/latest/report.json")
	expect_eq "$records" "$messages" "$ext: records (one per server message)"
	expect_findings "findings-$ext.jsonl" "$ext"
	"$DGAUDIT" verify "reports-$ext/latest" >/dev/null || fail "$ext: report does not verify"
	ok "$ext: $records messages ($audits AUDIT), none malformed, exactly the expected findings"
done

# What the statement's verb hides, as the real server logged it (findings-log.jsonl):
f=findings-log.jsonl
grep -q '^[^,]*AUDIT: OBJECT,' "$PGLOGDIR"/*.log || fail "pgaudit wrote no OBJECT records"
jq -e -s 'map(select(.fields["db.query.text"] // "" | test("FOR KEY SHARE"))) == []' "$f" \
	>/dev/null || fail "a foreign-key check was taken for the user's read"
jq -e -s 'map(select(.fields["user.effective.name"] == "teller" and .fields["user.name"] == "dba"
	and .rule == "PIPL-SENSITIVE-NO-BASIS")) | length == 1' "$f" >/dev/null ||
	fail "the read after SET ROLE does not name the role"
jq -e -s 'map(select(.rule == "DB-GRANT-CLASSIFIED" and
	(.fields["db.query.text"] | test("ALL TABLES IN SCHEMA core")))) | map(.fields["dg.object"])
	| sort == ["core.accounts", "core.customers"]' "$f" >/dev/null ||
	fail "a grant on all tables of core does not cover its catalogued tables"
jq -e -s 'map(select(.rule == "DB-GRANT-CLASSIFIED" and
	.fields["db.query.text"] == "GRANT SELECT ON customers TO intern;")) | .[0].fields["dg.object"]
	== "core.customers"' "$f" >/dev/null || fail "an unqualified grant was not resolved to core"
jq -e -s 'map(select(.rule == "PCI-PRIVILEGE-CHANGE" and .fields["dg.object"] == "reports.daily"))
	| length == 1' "$f" >/dev/null || fail "the grant inside CREATE SCHEMA was missed"
jq -e -s 'map(select(.fields["dg.object"] == "core.accounts" and .rule == "DB-EXPORT-CLASSIFIED"))
	| map(.fields["dg.classification"]) | sort == ["C2", "C3"]' "$f" >/dev/null ||
	fail "COPY without columns does not take the C3 column's class"
jq -e -s 'map(select(.rule == "PCI-AUDIT-TRAIL-TAMPERING")) | length == 1' "$f" >/dev/null ||
	fail "raising audit settings was taken for tampering"
jq -e -s 'map(select(.rule == "PCI-LOGIN-UNKNOWN-ACCOUNT")) | .[0].message ==
	"3 accounts that do not exist tried from 127.0.0.1 within 10m"' "$f" >/dev/null ||
	fail "the scanner's names were not reported"
jq -e -s 'map(select(.rule == "PCI-REPEATED-DENIED")) | .[0].message ==
	"intern was refused 6 accesses within 10m"' "$f" >/dev/null ||
	fail "the intern's refusals were not reported"
# "connection authorized" to a database that does not exist, then FATAL: one failed login, no
# successful one (a site rule sees every login to it).
mkdir -p login-rules
cat >login-rules/logins.conf <<'CONF'
rules = (
  { id = "T-LOGIN"; title = "a login to nosuchdb"; severity = "high"; compliance = ( ("T", "1") );
    select = { login = { field = "event.action"; eq = "login"; };
               db = { field = "db.namespace"; eq = "nosuchdb"; }; };
    condition = "login and db";
    message = "{event.outcome} {event.reason}"; }
);
CONF
printf 'databases = { log_line_prefix = "%%m [%%p] %%q%%u@%%d %%r %%a "; };\nrules = { packs = []; directories = ["login-rules"]; };\n' \
	>logins.conf
expect_rc 1 "$DGAUDIT" run -c logins.conf -o reports-logins "$PGLOGDIR"/*.log >logins.jsonl \
	2>/dev/null
expect_eq "$(jq -r .message logins.jsonl)" "failure unknown_database" \
	"the login to a database that does not exist"
ok "OBJECT and SESSION records merged; FK checks, masked views, SET ROLE, CREATE SCHEMA ... GRANT, unqualified and schema-wide grants, COPY classes, audit changes, refusals, unknown accounts and databases all as meant"

# Audited with the wrong log_line_prefix (Debian's default without the session part: only the
# postmaster's own lines match), nearly every record is malformed: that is no audit.
# The run says so, names the prefix it expected and the first line it saw, and exits 3; the
# signed report carries the verdict.
expect_rc 3 "$DGAUDIT" run -c "$CONF" -o reports-prefix --log-line-prefix '%m [%p] ' \
	"$PGLOGDIR"/*.log >/dev/null 2>prefix.err
grep -q "records malformed (.*more than limits.max_malformed_ratio 10.0%).*log_line_prefix '%m \[%p\] '.*First, line [0-9]*: 20" \
	prefix.err || fail "the wrong prefix was not named: $(cat prefix.err)"
jq -e '.integrity_events | map(select(.type == "malformed_ratio")) | length == 1' \
	reports-prefix/latest/report.json >/dev/null || fail "the report does not carry the verdict"
"$DGAUDIT" verify reports-prefix/latest >/dev/null || fail "the report does not verify"
ok "a log read with the wrong prefix is no audit: exit 3, the expected prefix and first line named"

expect_rc 1 "$DGAUDIT" run -c "$CONF" -o reports-crit --fail-on critical "$PGLOGDIR"/*.log \
	>/dev/null 2>&1
ok "the disabled audit log alone fails a --fail-on critical run"
