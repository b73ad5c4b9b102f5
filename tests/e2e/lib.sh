# Helpers for the end-to-end scripts. They run the real binary ($DGAUDIT) in a private
# temporary directory with its own state directory, and stop at the first failed expectation.
set -euo pipefail

: "${DGAUDIT:?set DGAUDIT to the dgaudit binary}"
: "${DG_SOURCE_DIR:?set DG_SOURCE_DIR to the source tree}"
WORK=$(mktemp -d /tmp/dg-e2e.XXXXXX)
export XDG_STATE_HOME="$WORK/state"
cleanup() {
	local pids
	pids=$(jobs -p)
	if [ -n "$pids" ]; then
		# a daemon stopped by SIGTERM writes its last report: removing the directory under it
		# fails; one that does not stop (SIGSTOPped by a test) is killed after 5 s
		kill $pids 2>/dev/null || true
		for p in $pids; do
			for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		done
		kill -9 $pids 2>/dev/null || true
	fi
	if [ -n "${DG_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
cd "$WORK"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok - $*"
}

# expect_rc WANT CMD...: runs CMD, fails unless it exits with WANT.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}
