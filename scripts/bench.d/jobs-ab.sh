#!/usr/bin/env bash
# Two builds (or two settings) of the generation path side by side: section (g)'s load in
# alternating rounds against two five-process stacks, A and B, on one throwaway PostgreSQL
# cluster, so each pair of rounds shares the machine's state. This machine drifts between runs
# by more than most changes move a job's cost; a pair of rounds does not.
#
# Usage: scripts/bench.d/jobs-ab.sh [rounds, default 4] [jobs per submitter a round, default 40]
#   BIN_A, BIN_B   the `atelier` binaries (default: this checkout's release build for both)
#   ENV_A, ENV_B   extra settings of each stack, space separated (ATELIER_GENERATION_WORKERS=4)
# Prints, a round and a side a line, jobs/s (first created to last finished) and CPU ms a job by
# process (scripts/bench.d/cpu_per_job.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-4}
jobs_each=${2:-40}
release=$(swift build -c release --show-bin-path)
BIN_A=${BIN_A:-$release/atelier}
BIN_B=${BIN_B:-$release/atelier}
bench=$release/atelier-bench

work=$(mktemp -d /tmp/atelier-jobs-ab.XXXXXX)
chmod 755 "$work"  # the throwaway PostgreSQL runs as the postgres user
pids=()
cleanup() {
  (( ${#pids[@]} )) && kill -TERM "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null
  scripts/postgres-throwaway stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
post() {  # base token path json
  curl -sf -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} "$1$3" -d "$4"
}
. scripts/bench.d/submitters.sh
postgres_url=$(POSTGRES_OPTIONS="-c max_connections=300" scripts/postgres-throwaway start "$work/pg" | tail -1)
eval "$("$BIN_A" keys | sed 's/^/export /')"  # both stacks' edges sign, their services verify

declare -A edge_url hop_pids
start_stack() {  # side binary extra-settings...
  local side=$1 bin=$2; shift 2
  local prefix=${side,,}_ settings
  settings=(ATELIER_DATABASE_URL="$postgres_url" ATELIER_DATABASE_SCHEMA_PREFIX="$prefix" ATELIER_LOG_LEVEL=warning
            ATELIER_AUTH_PORT="$(free_port)" ATELIER_CATALOG_PORT="$(free_port)" ATELIER_GENERATION_PORT="$(free_port)"
            ATELIER_COMMERCE_PORT="$(free_port)" ATELIER_EDGE_PORT="$(free_port)" ATELIER_EDGE_RATE_LIMITS=false
            ATELIER_AUTH_SCRYPT_LOG_N=12 ATELIER_DATA_DIR="$work/$side" "$@")
  port_of() { printf '%s\n' "${settings[@]}" | sed -n "s/^ATELIER_$1_PORT=//p"; }
  local -A started=()
  env "${settings[@]}" "$bin" serve auth >>"$work/$side-auth.log" 2>&1 &
  pids+=($!); started[auth]=$!
  for _ in $(seq 1 60); do "$bin" probe --grpc "127.0.0.1:$(port_of AUTH)" >/dev/null 2>&1 && break; sleep 0.5; done
  local generation admin
  generation=$(env "${settings[@]}" "$bin" credential --name generation --roles generation 2>/dev/null | tail -1)
  admin=$(env "${settings[@]}" "$bin" credential --name bench-admin --roles admin 2>/dev/null | tail -1)
  for service in catalog commerce edge; do
    env "${settings[@]}" "$bin" serve "$service" >>"$work/$side-$service.log" 2>&1 &
    pids+=($!); started[$service]=$!
  done
  env "${settings[@]}" ATELIER_GENERATION_CREDENTIAL="$generation" "$bin" serve generation >>"$work/$side-generation.log" 2>&1 &
  pids+=($!); started[generation]=$!
  local base="http://127.0.0.1:$(port_of EDGE)"
  edge_url[$side]=$base
  for _ in $(seq 1 120); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.5; done
  # 32 submitters, each its own user and character, funded for every round.
  local users=()
  sign_up_submitters "$base" 32 "$work/$side-users.txt" users
  "$bench" --port "$(port_of COMMERCE)" --credential "$admin" --mode fund --amount 1000000 "${users[@]}"
  python3 scripts/bench.d/jobs_load.py "$base" "$work/$side-users.txt" 2 >/dev/null  # warm-up
  hop_pids[$side]="auth=${started[auth]} catalog=${started[catalog]} generation=${started[generation]} commerce=${started[commerce]} edge=${started[edge]}"
}
read -r -a env_a <<<"${ENV_A:-}"
read -r -a env_b <<<"${ENV_B:-}"
start_stack A "$BIN_A" "${env_a[@]}"
start_stack B "$BIN_B" "${env_b[@]}"

drain() {  # schema prefix: waits until no job is open
  for _ in $(seq 1 1200); do
    [[ $(psql -qtA "$postgres_url" -c "SELECT COUNT(*) FROM ${1}generation.jobs WHERE status IN ('queued', 'running')") == 0 ]] && return
    sleep 0.5
  done
}
drain a_; drain b_
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    prefix=${side,,}_
    psql -q "$postgres_url" -c "DELETE FROM ${prefix}generation.jobs"
    read -r -a hops <<<"${hop_pids[$side]}"
    python3 scripts/bench.d/cpu_per_job.py snapshot "${hops[@]}" >"$work/before"
    read -r submitted _ < <(python3 scripts/bench.d/jobs_load.py "${edge_url[$side]}" "$work/$side-users.txt" "$jobs_each" 2>/dev/null)
    drain "$prefix"
    python3 scripts/bench.d/cpu_per_job.py snapshot "${hops[@]}" >"$work/after"
    rate=$(psql -qtA "$postgres_url" -c "SELECT round(COUNT(*) / ((MAX(finished_at) - MIN(created_at)) / 1e6), 1)
      FROM ${prefix}generation.jobs WHERE status = 'succeeded'")
    cpu=$(python3 scripts/bench.d/cpu_per_job.py table "$work/before" "$work/after" "$submitted" \
      | awk -F'|' 'NR > 2 { gsub(/ /, "", $3); sub(/^ */, "", $2); sub(/ *$/, "", $2); printf "%s %s, ", $2, $3 }')
    echo "round $round $side: $rate jobs/s; CPU ms a job: $cpu"
  done
done
