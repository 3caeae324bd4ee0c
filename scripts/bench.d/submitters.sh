# The generation bench's submitters, sourced by generation.sh and jobs-ab.sh: users signed up
# through an edge, each with a character, written as `token character` lines for jobs_load.py.
# Needs `post` and `json_field` (versus-peer.sh defines them for scripts/bench).
sign_up_submitters() {  # base count file users-array-name: appends `--user ID` pairs for atelier-bench's fund mode
  local base=$1 count=$2 file=$3 signup token character n
  local -n user_args=$4
  : >"$file"
  for n in $(seq 1 "$count"); do
    signup=$(post "$base" "" /api/auth/signup "{\"email\":\"gen$n@example.com\",\"password\":\"Bench-Marks-2026\"}")
    token=$(json_field '["session"]["token"]' <<<"$signup")
    user_args+=(--user "$(json_field '["user"]["id"]' <<<"$signup")")
    character=$(post "$base" "$token" /api/characters '{"name":"Bench","hairColor":"auburn"}' | json_field '["character"]["id"]')
    echo "$token $character" >>"$file"
  done
}
