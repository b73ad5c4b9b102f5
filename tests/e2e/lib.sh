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
	[ -n "$pids" ] && kill $pids 2>/dev/null
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
