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
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
