#!/usr/bin/env bash
# The state directory deleted while the daemon runs (rm -rf by a cleanup job, say), under a
# writer: the daemon makes it again from memory at its next commit, with the same keys, the
# report in progress and the checkpoint, and says so in the report. A restart afterwards goes on
# from the checkpoint: every number audited once, reports signed by the same key, and the chain
# that remains verifies. (It used to exit; its restart made new keys and read everything again.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
start_daemon
start_writer
sleep 1
cp state/signing.key.pub.pem pub.pem
cp state/pseudonym.key pseudonym.key
mv state state.gone # what rm -rf state does, at once: rm racing a commit may leave it
rm -rf state.gone
for _ in $(seq 100); do
	[ -f state/checkpoint.json ] && break
	sleep 0.1
done
[ -f state/checkpoint.json ] ||
	fail "no checkpoint 10 s after the state directory was deleted: $(tail -3 daemon.log)"
kill -0 "$DAEMON" || fail "the daemon exited: $(tail -3 daemon.log)"
cmp -s state/signing.key.pub.pem pub.pem || fail "the signing key changed"
cmp -s state/pseudonym.key pseudonym.key || fail "the pseudonymisation key changed"
stop_daemon
start_daemon
sleep 1
stop_writer
sleep 1.5
stop_daemon
grep -q "start.*without a checkpoint\|holds no checkpoint" daemon.log &&
	fail "the restart found no checkpoint"
# Findings before the deletion went with the reports in it; the findings log (outside) has all.
python3 - "$last" <<'PY' || fail "not every number once in the findings log"
import json, sys
last = int(sys.argv[1])
seen = [0] * (last + 1)
for line in open("findings.jsonl"):
    seen[int(json.loads(line)["fields"]["message"][1:])] += 1
bad = [n for n in range(1, last + 1) if seen[n] != 1]
print("numbers 1..%d: %d not exactly once" % (last, len(bad)))
sys.exit(1 if bad else 0)
PY
jq -e -s '[.[].integrity_events[] | select(.type == "state_restored")] | length == 1' \
	state/reports/2*/report.json >/dev/null || fail "no report says the state was restored"
"$DGAUDIT" verify --pubkey pub.pem state/reports >/dev/null ||
	fail "the reports since do not verify under the original key"
ok "state directory deleted under a writer: made again with the same keys; $last numbers once"
