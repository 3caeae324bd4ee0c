# (g) Generation, sourced by scripts/bench after (d) and (f).
#  1. Jobs per second from submit to settled: the five `atelier serve` processes on PostgreSQL, the
#     local provider with no delay, 32 submitters (each its own user and character, funded by
#     atelier-bench) submitting one-picture jobs through the edge one after another; the rate is the
#     jobs over the time from the first one created to the last one finished, read from the
#     database, beside Hold + Settle pairs per second made against the same stack's commerce in
#     alternating rounds: every job holds and settles (in batches with other jobs' when several
#     are on their way: PlaceHolds, SettleHolds).
#     A system-wide perf profile of the run gives the share of CPU per hop (process).
#  2. Responsiveness under a backlog: `atelier dev --postgres` (one process, the workers beside the
#     routes) with a provider taking 2 s a picture; p99 of GET /api/heroes/{id} idle, then with
#     1,000 jobs queued.
# Needs from scripts/bench: bin, bench, work, seconds, postgres_url, free_port, run_wrk, to_ms,
# distinct_ops; from versus-peer.sh: mean, ratio, json_field, post, hero_json.

echo "(g) generation: jobs from submit to settled, five processes..."
eval "$("$bin" keys | sed 's/^/export /')"
gen_env=(ATELIER_DATABASE_URL="$postgres_url" ATELIER_DATABASE_SCHEMA_PREFIX=gen_ ATELIER_LOG_LEVEL=warning
         ATELIER_AUTH_PORT="$(free_port)" ATELIER_CATALOG_PORT="$(free_port)" ATELIER_GENERATION_PORT="$(free_port)"
         ATELIER_COMMERCE_PORT="$(free_port)" ATELIER_EDGE_PORT="$(free_port)" ATELIER_EDGE_RATE_LIMITS=false
         ATELIER_AUTH_SCRYPT_LOG_N=12 ATELIER_DATA_DIR="$work/gen")
gen_port() { printf '%s\n' "${gen_env[@]}" | sed -n "s/^ATELIER_$1_PORT=//p"; }
serve_pids=()
declare -A gen_pids=()
start_gen_service() {  # service [extra env...]
  local service=$1; shift
  env "${gen_env[@]}" "$@" "$bin" serve "$service" >>"$work/gen-$service.log" 2>&1 &
  serve_pids+=($!); gen_pids[$service]=$!
}
start_gen_service auth
for _ in $(seq 1 60); do "$bin" probe --grpc "127.0.0.1:$(gen_port AUTH)" >/dev/null 2>&1 && break; sleep 0.5; done
gen_credential=$(env "${gen_env[@]}" "$bin" credential --name generation --roles generation 2>/dev/null | tail -1)
admin_credential=$(env "${gen_env[@]}" "$bin" credential --name bench-admin --roles admin 2>/dev/null | tail -1)
for service in catalog commerce edge; do start_gen_service "$service"; done
start_gen_service generation ATELIER_GENERATION_CREDENTIAL="$gen_credential"
gen_base="http://127.0.0.1:$(gen_port EDGE)"
for _ in $(seq 1 120); do curl -sf "$gen_base/readyz" >/dev/null && break; sleep 0.5; done

submitters=32
. scripts/bench.d/submitters.sh
gen_users=()
sign_up_submitters "$gen_base" "$submitters" "$work/gen-users.txt" gen_users
"$bench" --port "$(gen_port COMMERCE)" --credential "$admin_credential" --mode fund --amount 100000 "${gen_users[@]}"
# Warm-up: two jobs each, not counted.
python3 scripts/bench.d/jobs_load.py "$gen_base" "$work/gen-users.txt" 2 >/dev/null
for _ in $(seq 1 600); do
  [[ $(psql -qtA "$postgres_url" -c "SELECT COUNT(*) FROM gen_generation.jobs WHERE status IN ('queued', 'running')") == 0 ]] && break
  sleep 0.2
done
# The jobs are measured beside Hold + Settle pairs made against this stack's commerce, in
# alternating rounds (pairs, jobs, pairs, jobs), so each pair of rounds shares the machine's state:
# this machine drifts within one run by more than a third, and (d)'s pairs, measured minutes
# earlier, were no fair yardstick alone (its figure is shown beside).
pairs_credential=$(env "${gen_env[@]}" "$bin" credential --name bench-pairs --roles generation,admin 2>/dev/null | tail -1)
run_pairs() { "$bench" --port "$(gen_port COMMERCE)" --credential "$pairs_credential" --callers 32 --seconds "$seconds" --mode distinct; }
hop_pids=()
for service in auth catalog generation commerce edge; do hop_pids+=("$service=${gen_pids[$service]}"); done
open_jobs="SELECT COUNT(*) FROM gen_generation.jobs WHERE status IN ('queued', 'running')"
# A round of jobs: the submitters for $seconds s, then until no job is open. The first round runs
# under perf (the CPU per hop) and between /proc snapshots (the CPU a job).
jobs_round() {  # round
  psql -q "$postgres_url" -c "DELETE FROM gen_generation.jobs"
  local load="python3 scripts/bench.d/jobs_load.py '$gen_base' '$work/gen-users.txt' 1000000 '$seconds' 2>>'$work/gen-jobs.err'
    for _ in \$(seq 1 600); do [[ \$(psql -qtA '$postgres_url' -c \"$open_jobs\") == 0 ]] && break; sleep 1; done"
  if (( $1 == 1 )); then
    python3 scripts/bench.d/cpu_per_job.py snapshot "${hop_pids[@]}" >"$work/gen-cpu.before"
    perf record -a -F 499 -o "$work/gen-jobs.perf" -- bash -c "$load" >"$work/gen-jobs.out" 2>/dev/null
    python3 scripts/bench.d/cpu_per_job.py snapshot "${hop_pids[@]}" >"$work/gen-cpu.after"
  else
    bash -c "$load" >"$work/gen-jobs.out"
  fi
}
pairs_rounds=(); jobs_rounds=(); gen_rounds=""
jobs_submitted=0; jobs_refused=0; jobs_succeeded=0
for round in 1 2; do
  read -r pairs_ops _ < <(run_pairs)
  jobs_round "$round"
  read -r submitted refused <"$work/gen-jobs.out"
  succeeded=$(psql -qtA "$postgres_url" -c "SELECT COUNT(*) FROM gen_generation.jobs WHERE status = 'succeeded'")
  rate=$(psql -qtA "$postgres_url" -c "SELECT round(COUNT(*) / ((MAX(finished_at) - MIN(created_at)) / 1e6), 1)
    FROM gen_generation.jobs WHERE status = 'succeeded'")
  (( round == 1 )) && cpu_jobs=$submitted
  jobs_submitted=$((jobs_submitted + submitted)); jobs_refused=$((jobs_refused + refused)); jobs_succeeded=$((jobs_succeeded + succeeded))
  pairs_rounds+=("$pairs_ops"); jobs_rounds+=("$rate")
  gen_rounds+="| $round | $pairs_ops | $succeeded of $submitted succeeded ($refused refused) | $rate | $(ratio "$rate" "$pairs_ops")× |"$'\n'
  echo "    round $round: $pairs_ops pairs/s, then $succeeded of $submitted jobs succeeded: $rate jobs/s"
done
pairs_rate=$(mean "${pairs_rounds[@]}")
jobs_rate=$(mean "${jobs_rounds[@]}")
jobs_share=$(ratio "$jobs_rate" "$pairs_rate")
jobs_share_d=$(ratio "$jobs_rate" "$distinct_ops")
python3 scripts/bench.d/hop_shares.py "$work/gen-jobs.perf" "${hop_pids[@]}" >"$work/gen-hops.shares"
gen_cpu=$(python3 scripts/bench.d/cpu_per_job.py table "$work/gen-cpu.before" "$work/gen-cpu.after" "$cpu_jobs")
python3 scripts/bench.d/profile_shares.py "$work/gen-jobs.perf" >"$work/gen-jobs.shares"
echo "    $jobs_rate jobs/s against $pairs_rate pairs/s in the same rounds: ${jobs_share}× (${jobs_share_d}× (d)'s pairs)"
kill -TERM "${serve_pids[@]}" 2>/dev/null; wait "${serve_pids[@]}" 2>/dev/null || true
serve_pids=()

echo "(g) generation: a hero read with 1,000 jobs queued on a 2 s provider, one process..."
port=$(free_port); backlog_commerce=$(free_port)
ATELIER_EDGE_RATE_LIMITS=false ATELIER_DATABASE_SCHEMA_PREFIX=backlog_ ATELIER_GENERATION_LOCAL_DELAY_MS=2000 \
  "$bin" dev --postgres "$postgres_url" --port "$port" --auth-port "$(free_port)" --catalog-port "$(free_port)" \
  --generation-port "$(free_port)" --commerce-port "$backlog_commerce" --data-dir "$work/backlog" --log-level warning \
  >"$work/backlog.log" 2>&1 &
pid=$!
backlog_base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do curl -sf "$backlog_base/readyz" >/dev/null && break; sleep 0.5; done
signup=$(post "$backlog_base" "" /api/auth/signup '{"email":"backlog@example.com","password":"Bench-Marks-2026"}')
backlog_token=$(json_field '["session"]["token"]' <<<"$signup")
backlog_user=$(json_field '["user"]["id"]' <<<"$signup")
backlog_hero=$(post "$backlog_base" "$backlog_token" /api/heroes "$hero_json" | json_field '["hero"]["id"]')
backlog_character=$(post "$backlog_base" "$backlog_token" /api/characters '{"name":"Queue"}' | json_field '["character"]["id"]')
backlog_admin=$(ATELIER_DATABASE_URL="$postgres_url" ATELIER_DATABASE_SCHEMA_PREFIX=backlog_ "$bin" credential --name bench-admin \
  --roles admin --data-dir "$work/backlog" 2>/dev/null | tail -1)
"$bench" --port "$backlog_commerce" --credential "$backlog_admin" --mode fund --amount 2000 --user "$backlog_user"
hero_url="$backlog_base/api/heroes/$backlog_hero"
wrk -t2 -c64 -d3s -H "Authorization: Bearer $backlog_token" "$hero_url" >/dev/null
read -r idle_rps idle_p99 < <(run_wrk backlog-idle 64 -H "Authorization: Bearer $backlog_token" "$hero_url")
# 1,000 one-picture jobs, 8 submits at a time.
seq 1 1000 | xargs -P 8 -I{} curl -s -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $backlog_token" \
  "$backlog_base/api/generate/image" -d "{\"characterId\":\"$backlog_character\",\"count\":1}"
backlog_queued=$(psql -qtA "$postgres_url" -c "SELECT COUNT(*) FROM backlog_generation.jobs WHERE status IN ('queued', 'running')")
read -r busy_rps busy_p99 < <(run_wrk backlog-busy 64 -H "Authorization: Bearer $backlog_token" "$hero_url")
backlog_left=$(psql -qtA "$postgres_url" -c "SELECT COUNT(*) FROM backlog_generation.jobs WHERE status IN ('queued', 'running')")
kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
pid=""
idle_p99_ms=$(to_ms "$idle_p99"); busy_p99_ms=$(to_ms "$busy_p99")
backlog_ratio=$(at_most "$busy_p99_ms/$idle_p99_ms" 2)
echo "    hero read p99 idle ${idle_p99_ms} ms, with $backlog_queued jobs queued ${busy_p99_ms} ms (${backlog_ratio}×)"
gen_hops=$(shares_table gen-hops)
gen_shares=$(shares_table gen-jobs)
