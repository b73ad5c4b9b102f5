#!/usr/bin/env bash
# The command line's promises: exit statuses, check, keygen for each key type with its stock
# openssl verification, key permissions, malformed input of every kind, --fail-on.
source "$(dirname "$0")/lib.sh"
C=$DG_SOURCE_DIR/conf/dgaudit.conf

expect_rc 0 "$DGAUDIT" --version >/dev/null
expect_rc 0 "$DGAUDIT" --help >/dev/null
expect_rc 2 "$DGAUDIT" frobnicate 2>/dev/null
expect_rc 2 "$DGAUDIT" run 2>/dev/null
expect_rc 2 "$DGAUDIT" run --fail-on severe x 2>/dev/null
ok "usage errors exit 2"

expect_eq "$("$DGAUDIT" check -c "$C" | head -1)" "configuration OK" "check"
expect_eq "$("$DGAUDIT" check | head -1)" "configuration OK" "check of the defaults"
printf 'report = { interval = "1h"; };\nlimits = { max_line = 5; };\n' >bad.conf
expect_rc 2 "$DGAUDIT" check -c bad.conf 2>err.txt
expect_eq "$(cat err.txt)" "bad.conf:2: max_line must be between 256 and 268435456" "bad config"
printf 'daemon = {\n  max_open = 0;\n};\n' >bad.conf
expect_rc 2 "$DGAUDIT" check -c bad.conf 2>err.txt
expect_eq "$(cat err.txt)" "bad.conf:2: max_open must be between 1 and 16777216" "max_open range"
mkdir rules.d
printf 'rules = ( { id = "X"; title = "t"; severity = "high";\n  compliance = ( ("A", "1") );\n  select = { s = { field = "user.name"; eq = "a"; }; };\n  condition = "s or t"; } );\n' \
	>rules.d/50-site.conf
printf 'rules = { directories = ["rules.d"]; };\n' >site.conf
expect_rc 2 "$DGAUDIT" check -c site.conf 2>err.txt
expect_eq "$(cat err.txt)" "rules.d/50-site.conf:4: condition: no select block named 't' (did you mean 's'?)" \
	"rule error with file and line"
expect_rc 2 "$DGAUDIT" run -c site.conf x.jsonl 2>/dev/null
ok "check says configuration OK, or file:line: what is wrong"

# Each key type: bundles verify with dgaudit and with the openssl command VERIFY.txt gives.
echo '{"@timestamp":"2026-11-02T00:00:00Z","event.action":"delete","dg.object":"audit.log"}' >t.jsonl
for type in ed25519 ecdsa-p256 rsa-pss; do
	"$DGAUDIT" keygen --type "$type" -o "$type.key" >/dev/null
	[ "$(stat -c %a "$type.key")" = 600 ] || fail "$type key mode"
	printf 'report = { key = "%s.key"; };\n' "$type" >"$type.conf"
	expect_rc 1 "$DGAUDIT" run -c "$type.conf" -o "r-$type" t.jsonl >/dev/null 2>&1
	expect_rc 0 "$DGAUDIT" verify "r-$type/latest" >/dev/null
	cmd=$(grep -E '^  openssl (pkeyutl|dgst) ' "r-$type/latest/VERIFY.txt" | sed 's/^  //')
	(cd "r-$type/latest" && eval "$cmd") >/dev/null || fail "openssl rejects $type: $cmd"
	sed -i 's/"delete"/"DELETE"/' "r-$type/latest/report.json"
	(cd "r-$type/latest" && ! eval "$cmd" >/dev/null 2>&1) || fail "openssl accepts changed $type"
	expect_rc 1 "$DGAUDIT" verify "r-$type/latest" 2>/dev/null >/dev/null
done
expect_rc 2 "$DGAUDIT" keygen -o ed25519.key 2>/dev/null # never overwrites
ok "ed25519, ecdsa-p256 and rsa-pss bundles verify with stock openssl, and fail once changed"

# Hostile bundles: verify refuses what has no end or is too big without reading it, and a
# report nested a million deep in linear time; timeout(1) turns a hang into a failure.
hostile() { # NAME: a copy of a good bundle to spoil
	rm -rf "$1" && cp -r r-ed25519/latest/. "$1"
}
hostile fifo && rm fifo/report.json && mkfifo fifo/report.json
hostile zero && ln -sf /dev/zero zero/report.json
hostile huge && truncate -s 2G huge/report.json
hostile deep && python3 -c "print('{\"a\":' + '[' * 500000 + ']' * 500000 + '}')" >deep/report.json
for b in fifo zero huge deep; do
	rc=0
	timeout 10 "$DGAUDIT" verify "$b" >/dev/null 2>"verify-$b.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "verify $b exited $rc: $(cat "verify-$b.err")"
done
grep -q "report.json: not a regular file" verify-fifo.err || fail "fifo: $(cat verify-fifo.err)"
grep -q "report.json: not a regular file" verify-zero.err || fail "/dev/zero: $(cat verify-zero.err)"
grep -q "report.json: larger than 1073741824 bytes" verify-huge.err || fail "huge: $(cat verify-huge.err)"
grep -q "nested too deeply" verify-deep.err || fail "deep: $(cat verify-deep.err)"
ok "verify refuses a FIFO, /dev/zero, a 2 GiB report unread, and a report nested 500,000 deep"

chmod 644 ed25519.key
expect_rc 2 "$DGAUDIT" run -c ed25519.conf t.jsonl 2>err.txt >/dev/null
grep -q "accessible by group or others (mode 0644); refusing it: run chmod 600" err.txt ||
	fail "loose key permissions not refused clearly"
ok "a signing key readable by others is refused"
mkdir -m 777 shared && "$DGAUDIT" keygen -o shared/k.key >/dev/null
printf 'report = { key = "shared/k.key"; };\n' >shared.conf
expect_rc 2 "$DGAUDIT" run -c shared.conf t.jsonl 2>err.txt >/dev/null
grep -q "signing key shared/k.key is in shared, which group or others may write (mode 0777)" \
	err.txt || fail "a key in a world-writable directory: $(cat err.txt)"
if [ "$(id -u)" = 0 ]; then
	mkdir -m 700 theirs && "$DGAUDIT" keygen -o theirs/k.key >/dev/null
	chown nobody theirs/k.key
	printf 'report = { key = "theirs/k.key"; };\n' >theirs.conf
	expect_rc 2 "$DGAUDIT" run -c theirs.conf t.jsonl 2>err.txt >/dev/null
	grep -q "signing key theirs/k.key belongs to uid $(id -u nobody), not to this process's user" \
		err.txt || fail "another user's key: $(cat err.txt)"
	ok "a key in a directory others may write, or of another user, is refused"
else
	ok "a key in a directory others may write is refused (another user's key: needs root, skipped)"
fi

# Malformed records of every kind are counted with file, line and offset; the rest is audited.
{
	echo '{"@timestamp":"2026-11-02T00:00:01Z","event.action":"delete","dg.object":"audit.a"}'
	printf '{"@timestamp":"2026-11-02T00:00:02Z","message":"%s"}\n' "$(head -c 300000 /dev/zero | tr '\0' x)"
	printf '{"@timestamp":"2026-11-02T00:00:03Z","message":"a\0b"}\n'
	printf '{"@timestamp":"2026-11-02T00:00:04Z","message":"caf\xe9"}\n'
	echo '{"@timestamp":"2026-11-02T00:00:05Z","message":'
	echo '["not", "an", "object"]'
	echo '{"message":"no time"}'
	printf '\r\n'
	printf '{"@timestamp":"2026-11-02T00:00:06Z","event.action":"delete","dg.object":"audit.b"}\r\n'
	printf '{"@timestamp":"2026-11-02T00:00:07Z","event.action":"delete","dg.object":"audit.c"}'
} >bad.jsonl
# Six records of nine malformed is no audit (limits.max_malformed_ratio, default 10 %): exit 3.
printf 'limits = { max_line = 100000; };\n' >cap.conf
expect_rc 3 "$DGAUDIT" run -c cap.conf -o rb0 bad.jsonl >/dev/null 2>err.txt
grep -q "bad.jsonl: 6 of 9 records malformed (66.7%, more than limits.max_malformed_ratio 10.0%)" \
	err.txt || fail "a mostly malformed input was not refused: $(cat err.txt)"
printf 'limits = { max_line = 100000; max_malformed_ratio = 1; };\n' >cap.conf
expect_rc 1 "$DGAUDIT" run -c cap.conf -o rb bad.jsonl >f.jsonl 2>/dev/null
expect_eq "$(wc -l <f.jsonl)" 3 "findings around malformed records"
expect_eq "$(jq -c '[.malformed.count, (.malformed.listed | map(.line))]' rb/latest/report.json)" \
	'[6,[2,3,4,5,6,7]]' "malformed lines"
expect_eq "$(jq -r '.malformed.listed[] | .reason' rb/latest/report.json | tr '\n' '|')" \
	'line of 300050 bytes is longer than the 100000-byte cap|NUL byte|invalid UTF-8|truncated JSON|not a JSON object|missing @timestamp|' \
	"malformed reasons"
expect_eq "$(jq '.malformed.listed[0] | [.offset, .length]' -c rb/latest/report.json)" '[84,300050]' \
	"long line offset and real length"
expect_eq "$(jq -r .record.line f.jsonl | tr '\n' ' ')" "1 9 10 " "lines after the long one"
ok "malformed records are itemised and the audit goes on"

# --fail-on: the lowest severity that makes the exit status 1.
echo '{"@timestamp":"2026-11-02T00:00:00Z","event.action":"read","user.name":"a"}' >clean.jsonl
echo '{"@timestamp":"2026-11-02T00:00:00Z","message":"id 11010519491231002X"}' >high.jsonl
expect_rc 0 "$DGAUDIT" run -o rc clean.jsonl >/dev/null 2>&1
expect_rc 1 "$DGAUDIT" run -o rc high.jsonl >/dev/null 2>&1
expect_rc 0 "$DGAUDIT" run -o rc --fail-on critical high.jsonl >/dev/null 2>&1
expect_rc 1 "$DGAUDIT" run -o rc --fail-on critical t.jsonl >/dev/null 2>&1
expect_rc 1 "$DGAUDIT" run -o rc --fail-on info high.jsonl >/dev/null 2>&1
ok "--fail-on sets the severity from which the exit status is 1"

# Inputs that cannot be read: exit 3, the rest still audited and reported.
expect_rc 3 "$DGAUDIT" run -o r3 t.jsonl missing.jsonl 'nothing-*.jsonl' >/dev/null 2>err.txt
grep -q "missing.jsonl: No such file or directory" err.txt || fail "missing file not named"
grep -q "nothing-\*.jsonl: no file matches" err.txt || fail "empty glob not named"
expect_eq "$(jq '[.integrity_events[] | select(.type == "input_unreadable")] | length' \
	r3/latest/report.json)" 2 "unreadable inputs in the report"
expect_eq "$(jq .summary.findings r3/latest/report.json)" 1 "readable input still audited"
head -c 20000 "$DG_SOURCE_DIR/conf/samples/crm-access.jsonl.1.gz" >cut.gz
expect_rc 3 "$DGAUDIT" run -o r4 cut.gz >/dev/null 2>err.txt
grep -q "gzip archive is truncated" err.txt || fail "truncated archive not named"
ok "unreadable inputs exit 3 and are recorded as integrity events"

printf 'Nov 27 10:00:01 host sshd[1]: Accepted password\n' >syslog.txt
expect_rc 3 "$DGAUDIT" run -o r5 syslog.txt >/dev/null 2>err.txt
grep -q "unknown log format" err.txt || fail "unknown format not refused"
ok "a file in an unknown format is refused, not audited as garbage"

# libconfig 1.5 exits the process on some @include errors: dgaudit must refuse them first.
mkdir inc.d
printf '# site rules\n  @include "."\n' >inc.d/10-inc.conf
printf 'rules = { directories = ["inc.d"]; };\n' >inc.conf
expect_rc 2 "$DGAUDIT" check -c inc.conf 2>err.txt
expect_eq "$(cat err.txt)" \
	"inc.d/10-inc.conf:2: @include is not supported; list rule files in rules.directories instead" \
	"@include refused"
ok "@include is refused with file and line, never reaches libconfig"

# One logging path: --quiet leaves warnings and errors only, --verbose is taken before or after
# the command, and every message names its command.
S=$DG_SOURCE_DIR/conf/samples
expect_rc 1 "$DGAUDIT" run -c "$C" -o q "$S"/*.jsonl >/dev/null 2>normal.txt
grep -q "^dgaudit run: 1 input(s), 2000 records" normal.txt || fail "summary: $(cat normal.txt)"
expect_rc 1 "$DGAUDIT" run --quiet -c "$C" -o q "$S"/*.jsonl >/dev/null 2>quiet.txt
expect_eq "$(wc -c <quiet.txt)" 0 "stderr of run --quiet"
expect_rc 1 "$DGAUDIT" --verbose run -c "$C" -o q "$S"/*.jsonl >/dev/null 2>verbose.txt
grep -q "^dgaudit run: 1 input(s)" verbose.txt || fail "summary with --verbose: $(cat verbose.txt)"
expect_rc 2 "$DGAUDIT" run --quiet --format nope x 2>err.txt
grep -q "^dgaudit run: unknown format 'nope'" err.txt || fail "errors under --quiet: $(cat err.txt)"
ok "--quiet and --verbose set the level of the one logging path; errors name their command"
