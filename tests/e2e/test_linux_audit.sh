#!/usr/bin/env bash
# Linux audit logs (format linux-audit): the log a real auditd wrote for the scripted workload
# (tests/e2e/os/audit_workload.sh), committed as conf/os-samples/audit.log, always; and, where
# the kernel's audit is ours to use (root, no audit daemon running), a fresh run of the same
# workload under a private auditd. Both must give exactly the findings the workload provokes:
# data files opened by accounts outside data_file_readers, the audit rules and the audit log
# changed, auditing started and stopped.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

# conf DIR LOG: a configuration whose catalogue holds DIR's customer files and whose audit
# trail is LOG's directory.
conf() {
	cat <<-CONF
		assets = ( { object = "files.customers"; classification = "C3"; categories = ["id_card"];
		             paths = ["$1/data/*customers*"]; } );
		lists = { audit_trail_objects = ["$(dirname "$2")/"]; };
		schedules = { office_hours = { timezone = "UTC"; }; };
	CONF
}

expected=$(sort <<'EOF2'
OS-DATA-FILE-ACCESS nobody files.customers
OS-DATA-FILE-ACCESS root files.customers
OS-DATA-FILE-ACCESS root files.customers
OS-DATA-FILE-ACCESS root files.customers
OS-DATA-FILE-ACCESS root files.customers
PCI-AUDIT-CONFIG-CHANGE root auditd.rules
PCI-AUDIT-CONFIG-CHANGE root auditd.rules
PCI-AUDIT-TRAIL-TAMPERING root AUDITLOG
PCI-AUDIT-TRAIL-TAMPERING root auditd.rules
PCI-AUDIT-TRAIL-TAMPERING root auditd.rules
PIPL-SENSITIVE-NO-BASIS backup files.customers
PIPL-SENSITIVE-NO-BASIS root files.customers
EOF2
)

# check FILE LOG DIR LABEL [more expected lines]: audits FILE, the log auditd wrote at LOG for
# the workload in DIR.
check() {
	local file=$1 log=$2 dir=$3 label=$4 want got
	want=$(printf '%s\n%s' "${expected//AUDITLOG/$log}" "${5:-}" | sed '/^$/d' | sort)
	conf "$dir" "$log" >"$label.conf"
	expect_rc 1 "$DGAUDIT" run -c "$label.conf" -o "reports-$label" "$file" >"$label.jsonl" \
		2>"$label.err"
	jq -e '.inputs[0].malformed == 0 and .inputs[0].format == "linux-audit"' \
		"reports-$label/latest/report.json" >/dev/null ||
		fail "$label: $(jq -c '.inputs[0] | [.format, .malformed]' "reports-$label/latest/report.json")"
	got=$(jq -r '"\(.rule) \(.fields["user.name"] // "-") \(.fields["dg.object"] // "-")"' \
		"$label.jsonl" | sort)
	[ "$got" = "$want" ] || fail "$label findings differ:$(diff <(echo "$want") <(echo "$got"))"
	jq -e -s 'map(select(.rule == "OS-DATA-FILE-ACCESS") | .fields["file.path"]) | any(test("copy of customers"))' \
		"$label.jsonl" >/dev/null || fail "$label: a hex-encoded path was not decoded"
	jq -e -s 'map(select(.rule == "OS-DATA-FILE-ACCESS" and .fields["event.outcome"] == "failure"))
		| map(.fields["user.name"]) == ["nobody"]' "$label.jsonl" >/dev/null ||
		fail "$label: the refused open is not nobody's failure"
	"$DGAUDIT" verify "reports-$label/latest" >/dev/null || fail "$label: report does not verify"
	ok "$label: $(jq '.inputs[0].records' "reports-$label/latest/report.json") records, none malformed, exactly the expected findings"
}

# Stopping the audit daemon is a finding, starting it information.
stops="PCI-AUDIT-TRAIL-TAMPERING root auditd
PCI-AUDIT-CONFIG-CHANGE root auditd"

# The committed sample: written by auditd 3.0.9 (ENRICHED) at /tmp/dg-audit-sample/audit for
# the workload in /tmp/dg-audit-sample.
S=/tmp/dg-audit-sample
check "$DG_SOURCE_DIR/conf/os-samples/audit.log" "$S/audit/audit.log" "$S" sample "$stops"

# The same, RAW: without the names ENRICHED adds, uids stand for the accounts, so backup (34)
# is no longer one of data_file_readers by name (a site with RAW logs lists uids there).
sed 's/\x1d.*//' "$DG_SOURCE_DIR/conf/os-samples/audit.log" >raw.log
expect_rc 1 "$DGAUDIT" run -c sample.conf -o reports-raw raw.log >raw.jsonl 2>/dev/null
expect_eq "$(jq -r -s 'map(select(.rule == "OS-DATA-FILE-ACCESS")) | map(.fields["user.name"]) | sort | join(",")' raw.jsonl)" \
	"0,0,0,0,34,65534" "RAW: the accounts by uid"
ok "RAW records read as well"

# A private auditd, where the kernel lets us.
if [ "$(id -u)" -ne 0 ] || ! command -v auditd >/dev/null || ! status=$(auditctl -s 2>/dev/null); then
	echo "skip: a real auditd needs root, the auditd package and the kernel's audit (not here)"
	exit 0
fi
if [ "$(awk '$1 == "pid" { print $2 }' <<<"$status")" != 0 ]; then
	echo "skip: an audit daemon already owns the kernel's audit log; not starting another"
	exit 0
fi
enabled=$(awk '$1 == "enabled" { print $2 }' <<<"$status")
mkdir -p audit
cat >audit/auditd.conf <<CONF
log_file = $WORK/audit/audit.log
log_format = ENRICHED
log_group = root
flush = INCREMENTAL_ASYNC
freq = 1
num_logs = 1
max_log_file = 8
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
write_logs = yes
local_events = yes
CONF
auditd -n -c "$WORK/audit" -s enable >audit/auditd.out 2>&1 &
AUDITD=$!
stop_auditd() {
	[ -n "${AUDITD:-}" ] || return 0
	kill "$AUDITD" 2>/dev/null && wait "$AUDITD" 2>/dev/null
	AUDITD=
	auditctl -D >/dev/null 2>&1 || true
	auditctl -e "$enabled" >/dev/null 2>&1 || true
}
trap 'stop_auditd; cleanup' EXIT
for _ in $(seq 50); do grep -q DAEMON_START audit/audit.log 2>/dev/null && break; sleep 0.1; done
grep -q DAEMON_START audit/audit.log || fail "auditd did not start: $(cat audit/auditd.out)"
chmod 755 "$WORK" # the workload's accounts reach its files
"$HERE/os/audit_workload.sh" "$WORK/files" "$WORK/audit/audit.log"
sleep 0.5
stop_auditd
grep -q DAEMON_END audit/audit.log || fail "auditd did not log its end"
ok "auditd $(dpkg-query -W -f='${Version}' auditd 2>/dev/null) recorded the workload"
check "$WORK/audit/audit.log" "$WORK/audit/audit.log" "$WORK/files" live "$stops"
