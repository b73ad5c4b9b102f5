#!/usr/bin/env bash
# SIGHUP and the settings outside the rules: the metrics address and poll interval are applied
# (the new address serves, the old one is closed); a changed state or report directory,
# findings path or source is refused naming what takes a restart (it used to be ignored
# without a word), /healthz says so, and auditing goes on with the running configuration.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
PORT=$((20000 + RANDOM % 20000))
PORT2=$((PORT + 1))
METRICS=127.0.0.1:$PORT write_config
start_daemon
"$WRITER" logs/app.log 1000 10 >/dev/null
wait_findings 10
# fetch PORT PATH: "STATUS BODY", 503 included; "refused" when nothing listens.
fetch() {
	python3 -c "
import urllib.request, urllib.error, sys
try:
    r = urllib.request.urlopen('http://127.0.0.1:%s%s' % (sys.argv[1], sys.argv[2]), timeout=5)
    print(r.status, r.read().decode().strip().splitlines()[0])
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
except OSError:
    print('refused')" "$1" "$2"
}
reloads() { grep -c "configuration reloaded\|reload refused" daemon.log || true; }
hup() {
	local n
	n=$(reloads)
	kill -HUP "$DAEMON"
	for _ in $(seq 100); do [ "$(reloads)" -gt "$n" ] && return 0; sleep 0.05; done
	fail "no reload after SIGHUP"
}

# The metrics address and the poll interval: applied.
sed -i "s/127.0.0.1:$PORT/127.0.0.1:$PORT2/; s/poll = \"200ms\"/poll = \"1s\"/" dgaudit.conf
hup
grep -q "configuration reloaded" daemon.log || fail "$(tail -3 daemon.log)"
[ "$(fetch "$PORT2" /healthz)" = "200 ok" ] || fail "new address: $(fetch "$PORT2" /healthz)"
[ "$(fetch "$PORT" /healthz)" = refused ] || fail "the old address still serves"
ok "SIGHUP applies a new metrics address (the old one closed) and takes a new poll interval"

# What takes a restart: refused, named, and reported by /healthz.
for change in 's/state_directory = "state"/state_directory = "state2"/' \
	's/findings = "findings.jsonl"/findings = "other.jsonl"/' \
	's|path = "logs/app.log\*"|path = "logs/other.log*"|' \
	's/report = { interval = "2s";/report = { interval = "2s"; directory = "elsewhere";/'; do
	cp dgaudit.conf good.conf
	sed -i "$change" dgaudit.conf
	cmp -s dgaudit.conf good.conf && fail "the test's edit '$change' changed nothing"
	hup
	cp good.conf dgaudit.conf
	msg=$(grep "reload refused" daemon.log | tail -1)
	case $msg in *"takes a restart"*) ;; *) fail "'$change' not refused: $(tail -2 daemon.log)" ;; esac
	h=$(fetch "$PORT2" /healthz)
	case $h in "503 reload refused"*"takes a restart"*) ;; *) fail "/healthz: $h" ;; esac
	echo "$msg" | sed 's/.*dgaudit.conf: //' >>refused.txt
done
grep -q "^state_directory (.*state2.*) changed" refused.txt || fail "$(cat refused.txt)"
grep -q "^daemon.findings changed" refused.txt || fail "$(cat refused.txt)"
grep -q "^the sources' paths changed" refused.txt || fail "$(cat refused.txt)"
grep -q "^report.directory changed" refused.txt || fail "$(cat refused.txt)"
[ ! -e state2 ] && [ ! -e other.jsonl ] && [ ! -e elsewhere ] || fail "a refused setting was used"
"$WRITER" logs/app.log 1000 5 --start 11 >/dev/null
wait_findings 15
hup # the configuration as it was: healthy again
[ "$(fetch "$PORT2" /healthz)" = "200 ok" ] || fail "after a good reload: $(fetch "$PORT2" /healthz)"
stop_daemon
"$DGAUDIT" verify state/reports >/dev/null || fail "report chain does not verify"
ok "SIGHUP refuses a new state or report directory, findings path or source, naming it; auditing goes on"
