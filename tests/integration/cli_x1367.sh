#!/usr/bin/env bash
# Checks `mamori x1367` end to end on the shipped samples and tables: the
# exact problems it names (file, line, column, attribute), its exit statuses,
# mapping through a vendor table, and records built from options.
set -euo pipefail
m="${MAMORI_BIN:?}/mamori"
src="${MAMORI_SRC:?}"
s="$src/data/samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -Fxq -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "missing line: $2"; }; }
status() { local want=$1; shift; set +e; "$@"; local got=$?; set -e; [ "$got" = "$want" ] || fail "exit $got, want $want: $*"; }

# Strict: both published examples rejected at the trailing comma.
status 1 "$m" x1367 validate "$s/x1367-example-1.json" "$s/x1367-example-2.json" 2>"$tmp/e"
has "$tmp/e" "$s/x1367-example-1.json:14:37: Error Message: trailing comma before the closing bracket"
has "$tmp/e" "$s/x1367-example-2.json:17:4: Description: trailing comma before the closing bracket"
has "$tmp/e" "$s/x1367-example-2.json:7:25: Requester/Transmitted Code: not an even number of hex digits"
has "$tmp/e" "2 records: 0 valid, 0 accepted leniently, 2 invalid"

# Lenient: accepted, marked, and printed canonically.
status 0 "$m" x1367 validate --lenient --print "$s/x1367-example-1.json" "$s/x1367-example-2.json" >"$tmp/o" 2>"$tmp/e"
has "$tmp/e" "$s/x1367-example-1.json:14:37: Error Message: trailing comma before the closing bracket (forgiven)"
has "$tmp/e" "2 records: 0 valid, 2 accepted leniently, 0 invalid"
has "$tmp/o" '{"Timestamp":"2018-08-28T09:34:55.0Z","Reporter":{"IP Address":"192.168.2.11"},"Protocol":"ABC company protocol","Requester":{"Unique ID":"0000","Transmitted Code":"010000013A459187F43CdDE5"},"Responder":{"Unique ID":"0001","Transmitted Code":"000003FF"},"Error Code":"30","Error Message":"Invalid Command"}'
[ "$(wc -l <"$tmp/o")" = 2 ] || fail "expected 2 printed records"

# JSON lines from stdin; unassigned and private codes are kept and labelled.
status 0 "$m" x1367 validate - <"$s/x1367-records.jsonl" 2>"$tmp/e"
has "$tmp/e" "<stdin>:6: Error Code: 13 is unassigned (Communication); kept with message \"Vendor: radio module reset\""
has "$tmp/e" "<stdin>:7: Error Code: E3 is private (Reserved for private applications); kept with message \"Battery cover open\""
has "$tmp/e" "7 records: 7 valid, 0 accepted leniently, 0 invalid"

status 1 "$m" x1367 validate "$s/x1367-invalid.jsonl" 2>"$tmp/e"
has "$tmp/e" "$s/x1367-invalid.jsonl:1:61: Reporter/IP Address: is not an IPv4 or IPv6 address"
has "$tmp/e" "$s/x1367-invalid.jsonl:2:113: Error Code: \"3G\" is not two hex digits"
has "$tmp/e" "$s/x1367-invalid.jsonl:2:152: Severity: unknown attribute"
has "$tmp/e" "$s/x1367-invalid.jsonl:3:55: Protocol: the record ends before its JSON is complete"
grep -q "Error Code: missing" "$tmp/e" && fail "a malformed code must not also be reported missing"

# Unreadable input is a usage error (2), not a verdict.
status 2 "$m" x1367 validate "$tmp/nonexistent.json" 2>/dev/null
status 2 "$m" x1367 validate --bogus 2>/dev/null

# codes: the table and single codes.
"$m" x1367 codes >"$tmp/o"
has "$tmp/o" "  21   Certification Failed         Some problems of the certification."
has "$tmp/o" "E0-EF  Reserved for private applications"
[ "$(grep -c '^  [0-9A-F][0-9A-F]   ' "$tmp/o")" = 22 ] || fail "22 assigned codes expected"
"$m" x1367 codes 13 >"$tmp/o"
has "$tmp/o" "13  -  [Communication, unassigned]"
"$m" x1367 codes --json 31 >"$tmp/o"
grep -q '"message": "Invalid Argument"' "$tmp/o" || fail "codes --json 31"

# map through the shipped tables.
out=$("$m" x1367 map --table "$src/data/errmap/abc.map" --protocol "ABC company protocol" --vendor "ABC Corp" --code 0x000003FF 2>/dev/null)
[ "$out" = "30 Invalid Command" ] || fail "map abc: $out"
status 1 "$m" x1367 map --table "$src/data/errmap/modbus.map" --protocol NoSuch --code 1 2>/dev/null
printf '[protocol "P"]\n0x01 = 5X\n' >"$tmp/bad.map"
status 2 "$m" x1367 map --table "$tmp/bad.map" --protocol P --code 1 2>"$tmp/e"
grep -q "^$tmp/bad.map:2:" "$tmp/e" || fail "a bad table names its line: $(cat "$tmp/e")"

# build: exact output, and it validates strictly.
"$m" x1367 build --time 2018-08-28T09:34:55.0Z --reporter-ip 192.168.2.11 \
  --protocol "ABC company protocol" --requester-id 0000 --request 010000013A459187F43CDDE5 \
  --responder-id 0001 --response 000003FF --code 30 --description "Status=from a script" >"$tmp/o"
has "$tmp/o" '{"Timestamp":"2018-08-28T09:34:55.0Z","Reporter":{"IP Address":"192.168.2.11"},"Protocol":"ABC company protocol","Requester":{"Unique ID":"0000","Transmitted Code":"010000013A459187F43CDDE5"},"Responder":{"Unique ID":"0001","Transmitted Code":"000003FF"},"Error Code":"30","Error Message":"Invalid Command","Description":{"Status":"from a script"}}'
status 0 "$m" x1367 validate --quiet "$tmp/o"
status 1 "$m" x1367 build --protocol P --code 30 2>"$tmp/e"   # no parties
grep -q "Reporter: no identifier" "$tmp/e" || fail "build names what is missing"
status 2 "$m" x1367 build --protocol P --code 30 --reporter-ip 999.1.1.1 2>/dev/null
status 2 "$m" x1367 build --protocol P --code 13 --reporter-ip 10.0.0.1 2>"$tmp/e"
grep -q "not assigned: give its --message" "$tmp/e" || fail "unassigned code needs a message"

# Every verb has a truthful --help.
for v in codes validate map build; do
  "$m" x1367 "$v" --help | grep -q "usage: mamori x1367 $v" || fail "$v --help"
done
echo "cli_x1367: all checks passed"
