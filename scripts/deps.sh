#!/usr/bin/env bash
# Installs the Debian packages that building, testing, fuzzing and benchmarking
# mamori need. Idempotent: when everything is present it prints nothing and
# touches nothing. Run as root (CI) or with sudo available.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev          # libFuzzer and the sanitizer runtimes
  libjansson-dev libinih-dev        # JSON values and output, configuration files
  libyajl-dev                       # event-driven JSON parser: the X.1367 decode path
  libcmocka-dev                     # unit tests
  zlib1g-dev                        # CRC-32 of spool records
  librelp-dev libssl-dev            # RELP and TLS senders
  rsyslog-relp rsyslog-openssl      # rsyslog's imrelp/omrelp and its TLS driver, as test peers
  rsyslog util-linux socat          # real syslog peers for integration tests and benchmarks
  libevent-dev                      # mamori-soc's event loop, TLS bufferevents and HTTP API
  libsqlite3-dev libpq-dev          # mamori-soc's two store back ends
  libcurl4-openssl-dev              # mamori-soc's webhook alerts
  postgresql sqlite3 curl jq        # a real PostgreSQL server, the SQLite shell, HTTP and JSON in tests
  python3 openssl                   # webhook receivers and certificates in tests
  libpcap-dev                       # mamori-gw's capture
  libcap-dev libseccomp-dev         # mamorid's privilege separation
  libyara-dev yara                  # mamorid's YARA scan (yara: rule checks in tests)
  busybox-static                    # the guard tests' device rootfs
  libmodbus-dev                     # the Modbus/TCP test server and client
  mosquitto mosquitto-clients       # a real MQTT broker and clients in the gateway tests
  libcoap3-bin                      # coap-server and coap-client in the gateway tests
  iproute2                          # network namespaces and veth pairs for the gateway tests
  tcpdump                           # the gateway tests' independent capture of what was on the wire
  tshark                            # the packet decoder mamori-gw is benchmarked against
  time                              # GNU time: the benchmarks' peak RSS and CPU time
  libcrypt-dev                      # mamorid's audit: crypt(3) against shadow hashes
  python3-jsonschema                # the SBOM and report schema checks in tests
  gcc-arm-linux-gnueabi             # make cross: armel (ARMv5TE, soft float)
  gcc-mipsel-linux-gnu              # make cross: mipsel (MIPS32R2)
  qemu-user-static                  # make cross: the unit tests run under qemu-arm/-mipsel
  libtlsh-dev                       # mamori-trap: TLSH of captured files
  asciinema                         # mamori-trap's tests replay its session recordings
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# make cross: the libraries mamorid, libmamori, the CLI and their unit tests link, for
# each target architecture. They are unpacked from Debian's packages of that
# architecture into a sysroot of their own (/opt/mamori-cross/<arch>) rather than
# installed with dpkg beside the amd64 ones: bookworm-security no longer builds armel
# and mipsel, so e.g. libssl3:armel cannot have the version of the host's libssl3
# (Multi-Arch: same needs equal versions), and libevent-dev is not Multi-Arch: same.
cross_root=${MAMORI_CROSS_ROOT:-/opt/mamori-cross}
cross_arches=${CROSS_ARCHES-armel mipsel}
cross_dev=(
  libc6-dev libcrypt-dev libjansson-dev libinih-dev libyajl-dev zlib1g-dev librelp-dev
  libssl-dev libevent-dev libcap-dev libseccomp-dev libcmocka-dev libyara-dev
  libcurl4-openssl-dev
)
cross_missing=()
for a in $cross_arches; do
  if [ "$(head -n 1 "$cross_root/$a/.mamori-sysroot" 2>/dev/null)" != "${cross_dev[*]}" ]; then
    cross_missing+=("$a")
  fi
done

[ ${#missing[@]} -eq 0 ] && [ ${#cross_missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]} ${cross_missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# sysroot ARCH: the -dev packages above and everything they depend on, for ARCH,
# unpacked; absolute symbolic links are pointed into the sysroot.
sysroot() {
  local arch=$1 dir new pkgs=() p l t
  dir=$(mktemp -d)
  new="$dir/root"
  for p in "${cross_dev[@]}"; do
    pkgs+=("$p:$arch")
  done
  # The closure of Depends and Pre-Depends, only packages of this architecture (the
  # architecture-independent ones hold no headers or libraries that are needed).
  mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests \
      --no-conflicts --no-breaks --no-replaces --no-enhances "${pkgs[@]}" |
    grep -E "^[a-z0-9][^ ]*:$arch\$" | sort -u)
  mkdir "$dir/debs" "$new"
  (cd "$dir/debs" && apt-get download -qq -o APT::Sandbox::User="$(id -un)" "${pkgs[@]}")
  for p in "$dir"/debs/*.deb; do
    dpkg-deb -x "$p" "$new"
  done
  find "$new" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
    t=$(readlink "$l")
    ln -sfn "$cross_root/$arch$t" "$l"
  done
  { echo "${cross_dev[*]}"; (cd "$dir/debs" && ls); } > "$new/.mamori-sysroot"
  $sudo mkdir -p "$cross_root"
  $sudo rm -rf "$cross_root/$arch"
  $sudo mv "$new" "$cross_root/$arch"
  rm -rf "$dir"
}

if [ ${#cross_missing[@]} -gt 0 ]; then
  refresh=0
  for a in "${cross_missing[@]}"; do
    if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
      $sudo dpkg --add-architecture "$a"
      refresh=1
    elif ! apt-cache show "libc6:$a" >/dev/null 2>&1; then
      refresh=1
    fi
  done
  if [ $refresh -eq 1 ]; then
    $sudo apt-get update -qq
  fi
  for a in "${cross_missing[@]}"; do
    echo "deps.sh: unpacking the $a libraries into $cross_root/$a"
    sysroot "$a"
  done
fi
