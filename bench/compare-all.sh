#!/usr/bin/env bash
# `npm run bench:compare`: the comparison kit (../shared/perf/compare.sh, or $PERF_KIT/compare.sh) in the three
# set-ups the README reports, one after the other, then one table of ratios to Postfix:
#   1. external PostgreSQL 15 (the kit's private cluster), job queues in PostgreSQL (the default);
#   2. the same with the queues on Redis (a private redis-server on a loopback port, started and stopped here);
#   3. the embedded default (nothing set: the gateway's own PostgreSQL server).
# Extra arguments are passed to the kit's environment (e.g. RUNS=1 SIZES=10240). Results: $OUT (default a temp dir).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT=${PERF_KIT:-$ROOT/../shared/perf}
[ -x "$KIT/compare.sh" ] || [ -f "$KIT/compare.sh" ] || { echo "compare-all: the comparison kit is not at $KIT (set PERF_KIT)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/mesgw-compare.XXXXXX)}
mkdir -p "$OUT"
for kv in "$@"; do export "${kv?}"; done

REDIS_PID=""
cleanup() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; }
trap cleanup EXIT
command -v redis-server >/dev/null || { echo "compare-all: redis-server is needed for set-up 2 (apt-get install redis-server)" >&2; exit 2; }
RPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
REDIS_PID=$!

echo "[compare-all] 1/3 external PostgreSQL, queues in PostgreSQL" >&2
bash "$KIT/compare.sh" "$ROOT" "$OUT/pg.jsonl" >"$OUT/pg.log" 2>&1
echo "[compare-all] 2/3 external PostgreSQL, queues on Redis" >&2
GATEWAY_ENV="REDIS_URL=redis://127.0.0.1:$RPORT" bash "$KIT/compare.sh" "$ROOT" "$OUT/redis.jsonl" >"$OUT/redis.log" 2>&1
echo "[compare-all] 3/3 embedded default" >&2
EXTERNAL_PG=0 bash "$KIT/compare.sh" "$ROOT" "$OUT/embedded.jsonl" >"$OUT/embedded.log" 2>&1

(cd "$ROOT" && npx tsx bench/compare-table.ts "$OUT")
echo "[compare-all] raw lines and verdicts: $OUT/*.jsonl, $OUT/*.log" >&2
