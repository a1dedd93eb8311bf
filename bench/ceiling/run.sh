#!/usr/bin/env bash
# Ceilings on this machine, beside which the gateway's figures are read (README "Performance"):
#   1. smtp-server alone, discarding;  2. smtp-server alone, writing + fsyncing a file per message (Postfix's work);
#   3. PostgreSQL 15 alone, 20 sessions inserting 1 MiB values (a private cluster, as the kit's).
# Same load generator as the kit (../shared/perf/smtp-load.mjs or $PERF_KIT), 20 sessions, STARTTLS + client certificate.
# usage: bash bench/ceiling/run.sh   (env: RUNS=2, SIZES="10240 1048576"); as root for the PostgreSQL part.
set -u
HERE=$(cd "$(dirname "$0")" && pwd); KIT=${PERF_KIT:-$HERE/../../../shared/perf}
RUNS=${RUNS:-2}; SIZES=${SIZES:-"10240 1048576"}; PORT=2799; PGPORT=55470
W=$(mktemp -d /tmp/ceiling.XXXXXX); chmod 755 "$W"; SINK=""; PGDIR=""
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | head -n1)
cleanup() {
  [ -n "$SINK" ] && kill "$SINK" 2>/dev/null
  [ -n "$PGDIR" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR" stop -m fast >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/server.key" -out "$W/server.crt" -days 2 -subj /CN=localhost 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/client.key" -out "$W/client.crt" -days 2 -subj /CN=client 2>/dev/null
for mode in discard file; do
  node "$HERE/smtp-sink.mjs" "$mode" "$PORT" "$W" >/dev/null & SINK=$!
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
  for r in $(seq 1 "$RUNS"); do for sz in $SIZES; do
    n=2000; [ "$sz" -gt 100000 ] && n=400
    node "$KIT/smtp-load.mjs" --port $PORT --count $n --conc 20 --size "$sz" --per-conn $((n / 20)) --max-seconds 120 \
      --starttls --cert "$W/client.crt" --key "$W/client.key" --label "smtp-server-$mode" | sed "s/^{/{\"run\":$r,/"
  done; done
  kill "$SINK"; wait "$SINK" 2>/dev/null; SINK=""
done
if [ -n "$PGBIN" ]; then
  PGDIR=$W/pg; mkdir -p "$PGDIR"; chown postgres "$PGDIR"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/pg.log" -w start \
    -o "-k $PGDIR -c listen_addresses=127.0.0.1 -p $PGPORT -c max_connections=200 -c shared_buffers=512MB" >/dev/null \
    || { echo "ceiling: PostgreSQL did not start:" >&2; tail -n 5 "$PGDIR/pg.log" >&2; exit 1; }
  for r in $(seq 1 "$RUNS"); do node "$HERE/pg-floor.mjs" "postgres://postgres@127.0.0.1:$PGPORT/postgres" 1048576 400 | sed "s/^{/{\"run\":$r,/"; done
else
  echo "ceiling: PostgreSQL server binaries missing, part 3 skipped" >&2
fi
