#!/usr/bin/env bash
# Checks that mamori-trap carries Mirai's published telnet sequences to their
# end and keeps everything they leave, for an ARM DVR and a big-endian MIPS
# router: a wrong password is refused ("Login incorrect", cowrie.login.failed
# with T1110.001); the bot phase (enable, system, shell, sh,
# "/bin/busybox MIRAI") gets "MIRAI: applet not found"; the loader phase
# (ECCHI tokens, ps, /proc/mounts, the .nippon write test, cp /bin/echo
# dvrHelper, cat /bin/echo, the wget/tftp probe, a 20 KiB ELF uploaded in
# echo -ne lines of 128 bytes, its run, the cleanup) reaches its end and
# reads the persona's CPU from the ELF header of /bin/echo; the uploaded
# bytes are stored as DIR/downloads/<their sha256>, byte for byte; the events
# hold the connect, the login with its user name and password, every line in
# the order sent, the file_download with that sha256 and the persona's ELF
# machine, the ATT&CK ids T1059.004, T1105 and T1222.002, and the closing;
# the session's asciicast recording replays with "ECCHI: applet not found".
set -euo pipefail
. "$(dirname "$0")/lib/trap.sh"
for t in asciinema script; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/deps.sh)"
done
replay="$trap_lib/mirai_replay.py"

# has_attack EVENT-JSON ID: the event's "attack" array holds ID.
has_attack() { jq -e --arg id "$2" '(.attack // []) | index($id) != null' <<<"$1" >/dev/null; }

# run_persona NAME PERSONA ARCH ELF-MACHINE ELF-ENDIAN EI_DATA SEED
run_persona() {
  local n=$1 persona=$2 arch=$3 machine=$4 endian=$5 ei_data=$6 seed=$7
  local port dir out bin sha sessions bot loader ev sent got cast
  trap_start "$n" "$persona" "trap.seed=$seed" "login.delay_ms=200" "record.enabled=yes"
  port=$(eval echo "\$${n}_port")
  dir=$(eval echo "\$${n}_dir")

  # A failed login first, as a scanner's first guess often is.
  out=$(telnet_run "$port" -u root -P "not-a-mirai-password-$seed")
  expect "$persona: login with a wrong password" "$(jq -r .login <<<"$out")" false
  ev=$(event_one "$dir" '.eventid == "cowrie.login.failed" and .username == "root" and
    (.password | startswith("not-a-mirai-password"))')
  has_attack "$ev" T1110.001 || fail "$persona: cowrie.login.failed without T1110.001: $ev"
  expect "$persona: failed login's src_ip" "$(jq -r .src_ip <<<"$ev")" 127.0.0.1

  bin="$tmp/$n.bin"
  "$py" "$replay" make-elf "$arch" 20480 "$seed" "$bin"
  sha=$(sha256sum "$bin" | cut -d' ' -f1)
  "$py" "$replay" "$port" --phase both --binary "$bin" --expect-arch "$arch" --tag mamori \
    --out "$tmp/$n.replay.json" >"$tmp/$n.replay.out" ||
    fail "$persona: the replay stopped: $(cat "$tmp/$n.replay.out")"
  out="$tmp/$n.replay.json"
  expect "$persona: bot phase done" "$(jq -r '.bot_done // false' "$out")" true
  expect "$persona: loader phase done" "$(jq -r '.loader_done // false' "$out")" true
  expect "$persona: ELF EI_DATA of /bin/echo" "$(jq -r .elf.data "$out")" "$ei_data"
  expect "$persona: lines uploaded" "$(jq -r .chunks "$out")" 160
  expect "$persona: the replay's sha256" "$(jq -r .binary_sha256 "$out")" "$sha"
  # grep -c reads all its input: no SIGPIPE for jq under pipefail.
  [ "$(jq -r .transcript "$out" | tr -d '\0' | grep -c 'ECCHI: applet not found')" -gt 0 ] ||
    fail "$persona: no ECCHI answer in the loader's transcript"
  echo "ok: $persona: the bot and loader phases reached their end (arch $arch," \
    "$(jq -r .writedir "$out")/ writable, probe says $(jq -r .upload_method_probe "$out"))"

  # The sessions: the bot's and the loader's, in that order, each closed.
  wait_for events_at_least "$dir" '.eventid == "cowrie.session.closed"' 3 ||
    fail "$persona: $(events_count "$dir" '.eventid == "cowrie.session.closed"') sessions closed, want 3"
  sessions=$(events_where "$dir" '.eventid == "cowrie.login.success" and .username == "root" and
    .password == "xc3511"' | jq -r .session)
  expect "$persona: successful logins" "$(grep -c . <<<"$sessions")" 2
  bot=$(sed -n 1p <<<"$sessions")
  loader=$(sed -n 2p <<<"$sessions")
  for s in "$bot" "$loader"; do
    ev=$(event_one "$dir" ".eventid == \"cowrie.session.connect\" and .session == \"$s\"")
    expect "$persona: connect's src_ip" "$(jq -r .src_ip <<<"$ev")" 127.0.0.1
    expect "$persona: connect's dst_port" "$(jq -r .dst_port <<<"$ev")" "$port"
    expect "$persona: connect's protocol" "$(jq -r .protocol <<<"$ev")" telnet
    event_one "$dir" ".eventid == \"cowrie.session.closed\" and .session == \"$s\"" >/dev/null
  done

  # Every line sent after the login, in order, as cowrie.command.input.
  for phase in bot loader; do
    s=$bot
    [ "$phase" = loader ] && s=$loader
    sent=$(jq -c ".lines.$phase" "$out")
    got=$(events_where "$dir" ".eventid == \"cowrie.command.input\" and .session == \"$s\"" |
      jq -s -c 'map(.input)')
    [ "$sent" = "$got" ] || fail "$persona: the $phase's lines differ from its command.input events:
sent $(jq length <<<"$sent") lines, events $(jq length <<<"$got");
first difference: $(jq -n -c --argjson a "$sent" --argjson b "$got" \
        '[range(0; [$a, $b] | map(length) | max)] | map(select($a[.] != $b[.])) | .[0] as $i |
        {index: $i, sent: $a[$i], event: $b[$i]}')"
  done
  echo "ok: $persona: $(jq '.lines.loader | length' "$out") loader lines and" \
    "$(jq '.lines.bot | length' "$out") bot lines are command.input events, in order"

  # The ATT&CK ids of the commands.
  events_at_least "$dir" ".eventid == \"cowrie.command.input\" and .session == \"$loader\" and
    ((.attack // []) | index(\"T1059.004\") != null)" 1 ||
    fail "$persona: no command.input of the loader carries T1059.004"
  ev=$(events_where "$dir" ".eventid == \"cowrie.command.input\" and .session == \"$loader\" and
    (.input | startswith(\"/bin/busybox cp /bin/echo dvrHelper\"))")
  has_attack "$ev" T1222.002 || fail "$persona: the chmod 777 line lacks T1222.002: $ev"

  # The upload: stored byte for byte under its sha256, and reported.
  [ -f "$dir/downloads/$sha" ] || fail "$persona: no $dir/downloads/$sha; there: $(ls "$dir/downloads" 2>&1)"
  cmp -s "$bin" "$dir/downloads/$sha" || fail "$persona: downloads/$sha differs from the upload"
  ev=$(event_one "$dir" ".eventid == \"cowrie.session.file_download\" and .session == \"$loader\" and
    .shasum == \"$sha\"")
  expect "$persona: file_download's elf_machine" "$(jq -r .elf_machine <<<"$ev")" "$machine"
  expect "$persona: file_download's elf_endian" "$(jq -r .elf_endian <<<"$ev")" "$endian"
  expect "$persona: file_download's elf_class" "$(jq -r .elf_class <<<"$ev")" 32
  expect "$persona: file_download's size" "$(jq -r .size <<<"$ev")" 20480
  expect "$persona: file_download's outfile" "$(jq -r .outfile <<<"$ev")" "downloads/$sha"
  [[ "$(jq -r .destfile <<<"$ev")" == */upnp ]] ||
    fail "$persona: file_download's destfile is not the dropper upnp: $ev"
  has_attack "$ev" T1105 || fail "$persona: file_download without T1105: $ev"
  echo "ok: $persona: the upload is downloads/$sha, $machine $endian-endian, with T1105"

  # The recording of the loader's session.
  ev=$(event_one "$dir" ".eventid == \"cowrie.log.closed\" and .session == \"$loader\"")
  cast="$dir/$(jq -r .ttylog <<<"$ev")"
  [ -s "$cast" ] || fail "$persona: no recording $cast"
  expect "$persona: the recording's shasum" "$(jq -r .shasum <<<"$ev")" \
    "$(sha256sum "$cast" | cut -d' ' -f1)"
  head -n1 "$cast" | jq -e '.version == 2' >/dev/null || fail "$persona: $cast is not asciicast v2"
  # asciinema cat wants a terminal: script(1) gives it one.
  script -q -e -c "asciinema cat '$cast'" /dev/null </dev/null >"$tmp/$n.cast.txt" 2>"$tmp/$n.cast.err" ||
    fail "$persona: asciinema cat failed: $(cat "$tmp/$n.cast.err")"
  grep -q 'ECCHI: applet not found' "$tmp/$n.cast.txt" ||
    fail "$persona: asciinema cat of $cast lacks ECCHI: applet not found"
  echo "ok: $persona: the recording replays with asciinema"

  trap_stop "$n"
}

run_persona dvr dvr-arm arm ARM little 1 11
run_persona router router-mips mips MIPS big 2 12
echo "trap_mirai: all checks passed"
