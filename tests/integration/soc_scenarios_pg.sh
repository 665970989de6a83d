#!/usr/bin/env bash
# The whole of soc_scenarios.sh again, with mamori-soc storing into a real
# PostgreSQL server that the test starts (lib/pg.sh).
set -euo pipefail
SOC_STORE=pg exec bash "$(dirname "$0")/soc_scenarios.sh"
