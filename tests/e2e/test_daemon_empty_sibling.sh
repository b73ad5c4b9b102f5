#!/usr/bin/env bash
# A generation rotated away while still empty (created, renamed on before its writer wrote)
# is seen among the siblings with nothing to read; what its writer puts in it later is read,
# once. It used to be skipped for good: only another rotation, or a restart, looked again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
write_config
start_daemon
"$WRITER" logs/app.log 10000 100 >/dev/null
wait_findings 100
: >logs/app.log.3 # the empty generation, already under a rotated name
mv logs/app.log logs/app.log.1
"$WRITER" logs/app.log 10000 10 --start 101 >/dev/null
wait_findings 110
sleep 0.5 # a look or two at the siblings, the empty one among them
"$WRITER" logs/app.log.3 10000 20 --start 111 >/dev/null
wait_findings 130
sleep 1
stop_daemon
$CHECK findings.jsonl state/reports 130 || fail "not exactly once"
ok "20 lines written to a generation found empty after its rotation: read once"
