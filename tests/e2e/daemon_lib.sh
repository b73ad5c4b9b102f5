# Helpers for the daemon tests (sourced after lib.sh): a configuration that follows logs/app.log
# with the every-line rule pack, and starting, waiting for and stopping the daemon.
: "${DG_BUILD_DIR:?set DG_BUILD_DIR to the build directory}"
WRITER=$DG_BUILD_DIR/tests/dg_writer
CHECK="python3 $DG_SOURCE_DIR/tests/e2e/check_once.py"
mkdir -p logs rules
cp "$DG_SOURCE_DIR/tests/e2e/every-line.conf" rules/

# write_config [extra daemon settings...]: dgaudit.conf for the test; $METRICS is the metrics
# address (none by default), $REPORT more report settings.
write_config() {
	cat >dgaudit.conf <<CONF
sources = ( { path = "logs/app.log*"; format = "json"; } );
state_directory = "state";
report = { interval = "2s"; ${REPORT:-} };
limits = { lateness = "1h"; };
rules = { directories = ["rules"]; packs = []; };
daemon = { metrics = "${METRICS:-}"; poll = "200ms"; findings = "findings.jsonl"; max_held = 8;
           rotated_idle = "1s"; $* };
CONF
}

STARTS=0
start_daemon() {
	STARTS=$((STARTS + 1))
	"$DGAUDIT" daemon -c dgaudit.conf >>daemon.log 2>&1 &
	DAEMON=$!
	for _ in $(seq 200); do
		[ "$(grep -c "following .* source" daemon.log 2>/dev/null)" -ge "$STARTS" ] && return 0
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.05
	done
	tail -20 daemon.log >&2
	fail "daemon did not start"
}

stop_daemon() {
	kill -TERM "$DAEMON"
	wait "$DAEMON" || fail "daemon exited $? on SIGTERM"
}

# wait_findings N: until the findings log holds N lines (or 60 s pass).
wait_findings() {
	for _ in $(seq 600); do
		[ "$(wc -l <findings.jsonl 2>/dev/null || echo 0)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "only $(wc -l <findings.jsonl) of $1 findings after 60 s"
}

# start_writer [writer options...]: numbered lines into logs/app.log at 20,000 a second; the
# writer reopens the file on SIGHUP.
start_writer() {
	"$WRITER" logs/app.log 20000 100000000 "$@" >writer.out &
	WPID=$!
}

# stop_writer: stops it and sets $last to the last number written.
stop_writer() {
	kill -TERM "$WPID"
	wait "$WPID"
	last=$(awk '{print $2}' writer.out)
}

# rotate N: N forced logrotate runs of logrotate.conf, 30 ms apart.
rotate() {
	for _ in $(seq "$1"); do
		logrotate -f -s logrotate.state logrotate.conf || fail "logrotate failed"
		sleep 0.03
	done
}
