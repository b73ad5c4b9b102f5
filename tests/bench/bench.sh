#!/usr/bin/env bash
# dgaudit benchmark (not a test): generates N events with a fixed seed (~370-byte ECS lines,
# realistic mix, ~1% violation scenarios), then audits them with `dgaudit run` and the bundled
# rule packs under the example site configuration, and with a single rule, next to two
# baselines run in the same invocation on the same file: jq selecting big exports, and wc -l.
# Prints records/s, MB/s, peak RSS and ratios. A second, larger input shows peak RSS does not grow with input size.
# Then the database formats: N PostgreSQL messages as stderr text, csvlog and jsonlog, and the
# same operations as MariaDB server_audit records (tests/bench/gen_dblog.py), each audited with
# the same packs, next to the JSON figure.
#
#   tests/bench/bench.sh [N] [BUILD_DIR]      (default 1000000 and ./build)
#
# Each contender runs REPEAT times (default 3) and its fastest run counts: on a shared machine
# the slow runs measure the neighbours. Quote the ratios, which are taken in one invocation.
set -euo pipefail
N=${1:-1000000}
REPEAT=${REPEAT:-3}
BUILD=${2:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$BUILD/dgaudit
GEN=$BUILD/tests/dg_gen
PEAK=$BUILD/tests/dg_peak
for tool in "$BIN" "$GEN" "$PEAK"; do
	[ -x "$tool" ] || { echo "missing $tool: build first (cmake --build $BUILD)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "jq is needed for the baseline (apt-get install jq)" >&2; exit 2; }
T=$(mktemp -d /tmp/dg-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
export XDG_STATE_HOME=$T/state

"$GEN" "$N" --seed 1 >"$T/events.jsonl"
"$GEN" $((N * 4)) --seed 2 >"$T/events4.jsonl"
sync # generated files must not be written back while contenders run
bytes=$(stat -c %s "$T/events.jsonl")
lines=$(wc -l <"$T/events.jsonl")

# run NAME FILE CMD...: REPEAT timed runs; prints the fastest and remembers its rate.
declare -A rate
run() {
	local name=$1 file=$2 best="" out s kib n b
	shift 2
	for _ in $(seq "$REPEAT"); do
		out=$("$PEAK" "$@" 2>&1 >/dev/null | grep '^elapsed_s=' | tail -1)
		s=${out#elapsed_s=}
		s=${s%% *}
		kib=${out#*peak_rss_kib=}
		kib=${kib%% *}
		if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$s
			best_kib=$kib
		fi
	done
	n=${COUNT:-$(wc -l <"$file")}
	b=$(stat -c %s "$file")
	rate[$name]=$(awk -v n="$n" -v s="$best" 'BEGIN { printf "%.0f", n / s }')
	awk -v name="$name" -v n="$n" -v b="$b" -v s="$best" -v k="$best_kib" 'BEGIN {
		printf "%-30s %10d %8.2f s %12.0f rec/s %8.1f MB/s %8.1f MiB\n",
			name, n, s, n / s, b / s / 1e6, k / 1024 }'
}

echo "dgaudit benchmark (best of $REPEAT): $lines records, $((bytes / 1000000)) MB, $(awk -v b="$bytes" -v n="$lines" 'BEGIN{printf "%.0f", b/n}') bytes/record; $(nproc) CPUs; $(date -u +%FT%TZ)"
printf '%-30s %10s %10s %18s %13s %12s\n' "" records elapsed throughput bandwidth "peak RSS"
cat "$T/events.jsonl" >/dev/null # warm the page cache for every contender alike
run "wc -l" "$T/events.jsonl" wc -l "$T/events.jsonl"
run "jq select(.dg.records>=1000)" "$T/events.jsonl" jq -c 'select(.dg.records >= 1000)' "$T/events.jsonl"
# One rule alone (PIPL-SENSITIVE-NO-BASIS), to show what the other rules cost: the index keeps
# each event to the rules that can match it.
printf 'rules = { packs = ["pipl"]; };\n' >"$T/pipl.conf"
others=$("$BIN" check -c "$T/pipl.conf" |
	awk '$1 ~ /^(info|low|medium|high|critical)$/ && $2 != "PIPL-SENSITIVE-NO-BASIS" { printf "%s\"%s\"", n++ ? ", " : "", $2 }')
printf 'rules = { packs = ["pipl"]; disable_rules = [%s]; };\n' "$others" >"$T/one.conf"
run "dgaudit run (one rule)" "$T/events.jsonl" "$BIN" run -c "$T/one.conf" -o "$T/r0" "$T/events.jsonl"
run "dgaudit run (bundled packs)" "$T/events.jsonl" "$BIN" run -c "$SRC/conf/dgaudit.conf" -o "$T/r1" "$T/events.jsonl"
run "dgaudit run, 4x the input" "$T/events4.jsonl" "$BIN" run -c "$SRC/conf/dgaudit.conf" -o "$T/r4" "$T/events4.jsonl"
awk -v d="${rate[dgaudit run (bundled packs)]}" -v j="${rate[jq select(.dg.records>=1000)]}" \
	-v w="${rate[wc -l]}" -v o="${rate[dgaudit run (one rule)]}" 'BEGIN {
	printf "ratios: dgaudit/jq = %.1fx, dgaudit/wc -l = %.2fx, bundled packs/one rule = %.2f\n",
		d / j, d / w, d / o }'
echo "findings: $(jq .summary.findings "$T/r1/latest/report.json") in $(du -h "$T/r1/latest/report.json" | cut -f1) of report.json"

# Database formats: records, not lines, are what a run audits.
python3 "$SRC/tests/bench/gen_dblog.py" "$N" "$T" >"$T/db-counts"
rm -f "$T/events4.jsonl"
PREFIX='%m [%p] %q%u@%d %r %a '
for f in pg.log pg.csv pg.json server_audit.log; do
	COUNT=$(awk -v f="$f" '$1 == f { print $2 }' "$T/db-counts") \
		run "dgaudit run, $f" "$T/$f" "$BIN" run -c "$SRC/conf/dgaudit.conf" \
		--log-line-prefix "$PREFIX" -o "$T/r-$f" "$T/$f"
done
awk -v d="${rate[dgaudit run (bundled packs)]}" -v a="${rate[dgaudit run, pg.log]}" \
	-v b="${rate[dgaudit run, pg.csv]}" -v c="${rate[dgaudit run, pg.json]}" \
	-v m="${rate[dgaudit run, server_audit.log]}" 'BEGIN {
	printf "ratios to JSON lines: stderr %.2f, csvlog %.2f, jsonlog %.2f, server_audit %.2f\n",
		a / d, b / d, c / d, m / d }'
