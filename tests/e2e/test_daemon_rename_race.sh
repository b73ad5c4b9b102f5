#!/usr/bin/env bash
# A rotation between the daemon's stat of a new file and its open (only load makes it likely;
# a shim makes it happen): the daemon takes the identity of what it opened. It used to take the
# stat's, and a loaded CI run audited 849 lines twice so. In this interleaving the fingerprints
# also tell the files apart, and the daemon of before passed too: the test holds the sequence
# to exactly once; the loaded runs of test_daemon_rotate are what showed the race.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/daemon_lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
write_config
DG_ROTATE_ON_OPEN=$WORK/trigger LD_PRELOAD=$DG_BUILD_DIR/tests/libdg_faults.so start_daemon
"$WRITER" logs/app.log 10000 100 >/dev/null
wait_findings 100
# logs/app.log is rotated to .1 and B takes its name; as the daemon opens B, B is rotated to .2
# and C takes the name
mkdir -p prep
"$WRITER" prep/B 10000 20 --start 101 >/dev/null
"$WRITER" prep/C 10000 10 --start 121 >/dev/null
echo "logs/app.log $WORK/prep/C" >trigger
mv logs/app.log logs/app.log.1
mv prep/B logs/app.log
wait_findings 130
for _ in $(seq 50); do [ -e trigger ] || break; sleep 0.1; done
[ ! -e trigger ] || fail "the shim did not rotate: $(tail -5 daemon.log)"
[ "$(head -c 200 logs/app.log.2 | grep -c n000000101)" = 1 ] || fail "not rotated as planned"
sleep 1.5
stop_daemon
$CHECK findings.jsonl state/reports 130 || fail "not exactly once"
ok "a file renamed between stat and open: 130 numbers in three files, each audited once"
