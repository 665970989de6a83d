# Helpers of the mamori-soc scenarios: start the daemon on free loopback
# ports, ask its HTTP API, wait for what it stores. Source after peers.sh.
# shellcheck shell=bash

soc_bin="$MAMORI_BIN/mamori-soc"
[ -x "$soc_bin" ] || fail "no $soc_bin"
command -v jq >/dev/null || fail "jq is not installed (scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is not installed (scripts/deps.sh)"

# Sets $store, the store the scenarios run against: SOC_STORE=sqlite (the
# default) or pg, which starts a throwaway PostgreSQL cluster (lib/pg.sh).
# Not in a subshell: the server must belong to this script's cleanup.
soc_store_init() {
  case "${SOC_STORE:-sqlite}" in
  sqlite) store="sqlite:$tmp/soc.db" ;;
  pg)
    # shellcheck source=pg.sh
    . "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
    start_postgres
    store="$PG_URL"
    ;;
  *) fail "SOC_STORE must be sqlite or pg" ;;
  esac
}

# start_soc NAME ARGS...: runs mamori-soc -d with ARGS plus --http on a free
# port and --state $tmp/NAME.state; waits until the API answers. Sets
# ${NAME}_pid and ${NAME}_api (http://127.0.0.1:PORT). Output in $tmp/NAME.log.
start_soc() {
  local name=$1 hp
  shift
  hp=$(pick_port)
  "$soc_bin" -d --state "$tmp/$name.state" --http "127.0.0.1:$hp" "$@" >>"$tmp/$name.log" 2>&1 &
  pids+=("$!")
  eval "${name}_pid=$!"
  eval "${name}_api=http://127.0.0.1:$hp"
  wait_for curl -fs -o /dev/null "http://127.0.0.1:$hp/health" ||
    fail "mamori-soc $name did not start: $(cat "$tmp/$name.log")"
}

# A jq filter: the rows of a list answer ({"events": [...], "count": N}).
rows='if type == "array" then . else ([.[] | arrays] | .[0] // []) end'

# api URL PATH: the JSON of a GET, or fail.
api() {
  curl -fsS --max-time 10 "$1$2" || fail "GET $1$2 failed"
}

# The value of counter $2 of the daemon at API $1.
counter() {
  api "$1" /api/v1/counters | jq -r --arg k "$2" '.[$k] // .counters[$k] // empty'
}

# True when the daemon at $1 has stored at least $2 events (for wait_for).
stored_at_least() {
  local n
  n=$(curl -fs --max-time 5 "$1/api/v1/counters" | jq -r '.stored // .counters.stored // 0')
  [ "${n:-0}" -ge "$2" ]
}

# The events matching query string $2 as a JSON array.
events() {
  api "$1" "/api/v1/events?$2" | jq "$rows"
}

# True when the query $2 on endpoint $3 (events, findings, incidents) has at
# least $4 rows.
rows_at_least() {
  local n
  n=$(curl -fs --max-time 5 "$1/api/v1/$3?$2" | jq "$rows | length")
  [ "${n:-0}" -ge "$4" ]
}
