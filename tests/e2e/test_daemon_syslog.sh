#!/usr/bin/env bash
# Findings forwarded to a real rsyslog on loopback, which parses each message's JSON with its own
# mmjsonparse: over RELP (imrelp), TLS (imtcp with gtls), TCP with octet counting (imtcp) and
# UDP (imudp), from `run` and from the daemon. TLS refuses a collector whose certificate does
# not name it. Over RELP, a collector stopped and started again mid-stream loses nothing (the
# checkpoint waits for its acknowledgements, and /metrics says so), and neither does a daemon
# killed with kill -9: what it sent again has the same finding ids.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
command -v rsyslogd >/dev/null || fail "rsyslogd is needed (Debian: rsyslog rsyslog-relp rsyslog-gnutls)"
CHECK_SYSLOG="python3 $DG_SOURCE_DIR/tests/e2e/check_syslog.py"
SAMPLES=("$DG_SOURCE_DIR"/conf/samples/*)

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
RELP=$(free_port) TLS=$(free_port) TCP=$(free_port) UDP=$(free_port) METRICS=127.0.0.1:$(free_port)

# A CA and the collector's certificate, for localhost and 127.0.0.1; and a CA nobody used.
ec() { openssl req "$@" -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes 2>/dev/null; }
ec -x509 -keyout ca.key -out ca.pem -days 2 -subj "/CN=dgaudit test CA"
ec -x509 -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=another CA"
ec -keyout server.key -out server.csr -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
	-days 2 -extfile san.ext 2>/dev/null

# Each input to its own file: msgid, structured data and the JSON as mmjsonparse parsed it.
mkdir -p rsyslog
cat >rsyslog.conf <<CONF
global(workDirectory="$WORK/rsyslog" defaultNetstreamDriverCAFile="$WORK/ca.pem"
       defaultNetstreamDriverCertFile="$WORK/server.pem"
       defaultNetstreamDriverKeyFile="$WORK/server.key")
module(load="imrelp")
module(load="imtcp")
module(load="imudp")
module(load="mmjsonparse")
input(type="imrelp" address="127.0.0.1" port="$RELP" ruleset="relp")
input(type="imtcp" address="127.0.0.1" port="$TLS" ruleset="tls" streamDriver.name="gtls"
      streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="$TCP" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="$UDP" ruleset="udp")
template(name="parsed" type="list") {
	property(name="msgid") constant(value=" ") property(name="structured-data")
	constant(value=" ") property(name="\$!all-json") constant(value="\n")
}
CONF
for t in relp tls tcp udp; do
	cat >>rsyslog.conf <<CONF
ruleset(name="$t") {
	action(type="mmjsonparse" cookie="")
	if \$parsesuccess == "OK" then action(type="omfile" file="$WORK/$t.log" template="parsed")
	else action(type="omfile" file="$WORK/unparsed.log")
}
CONF
done
rsyslogd -N1 -f rsyslog.conf >rsyslog.check 2>&1 || { cat rsyslog.check >&2; fail "rsyslog.conf"; }

start_rsyslog() {
	rm -f rsyslog.pid
	rsyslogd -n -f rsyslog.conf -i "$WORK/rsyslog.pid" >>rsyslog.out 2>&1 &
	RSYSLOG=$!
	for _ in $(seq 100); do
		ss -Hltn "sport = :$RELP" | grep -q . && ss -Hltn "sport = :$TLS" | grep -q . && return 0
		sleep 0.05
	done
	cat rsyslog.out >&2
	fail "rsyslogd did not start"
}
stop_rsyslog() {
	kill -TERM "$RSYSLOG"
	wait "$RSYSLOG" || echo "rsyslogd exited $? on SIGTERM" >&2
}

# audit WANT OUT ERR CONF FILE...: a run that must exit WANT, its findings in OUT, stderr in ERR.
audit() {
	local want=$1 out=$2 err=$3 conf=$4 rc=0
	shift 4
	"$DGAUDIT" run -c "$conf" -o "reports-$conf" "$@" >"$out" 2>"$err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "run -c $conf exited $rc, want $want: $(tail -3 "$err")"
}

# syslog_conf FILE TRANSPORT PORT [MORE]: a configuration forwarding to the collector.
syslog_conf() {
	local more=${4:-'timeout = "3s";'}
	cat >"$1" <<CONF
state_directory = "state-run";
syslog = { transport = "$2"; address = "127.0.0.1:$3"; $more };
CONF
}

# (0) Every mistake in a syslog group in one check, each with its file and line.
cat >bad.conf <<'CONF'
syslog = {
  transport = "relpp";
  address = "collector";
  facility = "local9";
  queue = 0;
  tls = true;
  cert = "client.pem";
  adress = "x";
};
CONF
rc=0
"$DGAUDIT" check -c bad.conf 2>bad.err || rc=$?
[ "$rc" -eq 2 ] || fail "check of a bad syslog group exited $rc"
for want in "bad.conf:2: transport 'relpp'" "bad.conf:3: address 'collector' is not host:port" \
	"bad.conf:4: facility 'local9'" "bad.conf:5: queue must be between" \
	"bad.conf:1: syslog: cert and key go together" "bad.conf:8: unknown setting 'adress'"; do
	grep -qF "$want" bad.err || fail "check did not say '$want': $(cat bad.err)"
done
syslog_conf good.conf relp 2514
"$DGAUDIT" check -c good.conf >/dev/null 2>&1 || fail "a good syslog group refused"
ok "check names every mistake of a syslog group (file:line)"

start_rsyslog

# (a) run, over each transport.
for t in relp:$RELP tls:$TLS tcp:$TCP; do
	syslog_conf "$t.conf" "${t%:*}" "${t#*:}" 'ca = "ca.pem"; timeout = "3s";'
	[ "${t%:*}" = tls ] || sed -i 's/ ca = "ca.pem";//' "$t.conf"
	audit 1 "run-${t%:*}.jsonl" "run-${t%:*}.err" "$t.conf" "${SAMPLES[@]}"
	$CHECK_SYSLOG "${t%:*}.log" "run-${t%:*}.jsonl" --integrity start ||
		fail "run over ${t%:*}: the collector's findings are not dgaudit's"
done
[ ! -e unparsed.log ] || fail "rsyslog could not parse: $(head -c 300 unparsed.log)"
ok "run over RELP, TLS and TCP: every finding at the collector, parsed by mmjsonparse, ids and rules as dgaudit's"
syslog_conf udp.conf udp "$UDP"
audit 1 run-udp.jsonl run-udp.err udp.conf "${SAMPLES[0]}"
for _ in $(seq 50); do [ -s udp.log ] && break; sleep 0.1; done
[ -s udp.log ] || fail "nothing came over UDP"
python3 - udp.log <<'PY' || fail "a datagram not as dgaudit sent it"
import json, sys
for line in open(sys.argv[1]):
    msgid, rest = line.split(" ", 1)
    body = json.loads(rest[rest.index("] {") + 2:])
    assert msgid in ("finding", "integrity"), msgid
PY
ok "run over UDP: what arrives is whole and parsed (UDP promises no more)"

# (b) TLS checks the collector's certificate: another name, another CA.
syslog_conf badname.conf tls "$TLS" 'ca = "ca.pem"; peer_name = "collector.example"; timeout = "1s";'
audit 3 /dev/null badname.err badname.conf "${SAMPLES[0]}"
grep -q "hostname mismatch" badname.err || fail "a certificate for another name: $(cat badname.err)"
syslog_conf badca.conf tls "$TLS" 'ca = "other-ca.pem"; timeout = "1s";'
audit 3 /dev/null badca.err badca.conf "${SAMPLES[0]}"
grep -q "certificate" badca.err || fail "a certificate of another CA: $(cat badca.err)"
ok "TLS refuses a collector whose certificate has another name or CA (exit 3, nothing sent)"

# all_delivered N WHAT: numbers 1..N exactly once in the daemon's outputs, and each of its
# findings at the collector (repeats allowed: after a crash or a broken session, same ids).
all_delivered() {
	wait_findings "$1"
	for _ in $(seq 200); do [ "$(grep -c '^finding' relp.log)" -ge "$1" ] && break; sleep 0.1; done
	stop_daemon
	$CHECK findings.jsonl state/reports "$1" || fail "$2: not exactly once in dgaudit's own outputs"
	$CHECK_SYSLOG relp.log findings.jsonl --repeats || fail "$2: findings lost at the collector"
}

# (c) The daemon over RELP; the collector stopped and started again mid-stream.
write_config
cat >>dgaudit.conf <<CONF
syslog = { transport = "relp"; address = "127.0.0.1:$RELP"; queue = 500; timeout = "5s"; };
CONF
: >relp.log
metric() {
	python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
		"http://$METRICS/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
start_daemon
"$WRITER" logs/app.log 4000 24000 >/dev/null &
WRITING=$!
sleep 1.5
stop_rsyslog
for _ in $(seq 100); do [ "$(metric dgaudit_checkpoint_waiting)" = 1 ] && break; sleep 0.05; done
sleep 1
waiting=$(metric dgaudit_checkpoint_waiting) unacked=$(metric dgaudit_syslog_unacknowledged)
connected=$(metric dgaudit_syslog_connected) limit=$(metric dgaudit_syslog_queue_limit)
[ "$waiting" = 1 ] && [ "$connected" = 0 ] || fail "collector down: waiting $waiting, connected $connected"
[ "$unacked" -gt 0 ] && [ "$unacked" -le $((limit + 2000)) ] ||
	fail "collector down: $unacked unacknowledged (limit $limit)"
health=$(python3 -c "
import urllib.request, urllib.error, sys
try: r = urllib.request.urlopen(sys.argv[1]); print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e: print(e.code, e.read().decode().strip())" "http://$METRICS/healthz")
case "$health" in "503 syslog collector unreachable"*) ;; *) fail "/healthz with the collector down: $health" ;; esac
during=$(wc -l <findings.jsonl)
sleep 1
[ "$(wc -l <findings.jsonl)" -eq "$during" ] || fail "findings went on while the collector was down"
start_rsyslog
wait "$WRITING"
all_delivered 24000 "a collector outage"
ok "collector down mid-stream: the checkpoint and reading waited ($unacked unacknowledged, limit $limit), nothing lost"

# (d) The daemon killed with kill -9 while it forwards: what the checkpoint had not covered is
# sent again, with the same ids.
"$WRITER" logs/app.log 4000 12000 --start 24001 >/dev/null &
WRITING=$!
start_daemon
sleep 1.2
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
start_daemon
wait "$WRITING"
all_delivered 36000 "kill -9"
"$DGAUDIT" verify state/reports >/dev/null || fail "the report chain"
ok "kill -9 while forwarding: every finding at the collector, repeats with the same id"
stop_rsyslog
