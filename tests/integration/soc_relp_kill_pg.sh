#!/usr/bin/env bash
# soc_relp_kill.sh with mamori-soc storing into a real PostgreSQL server.
set -euo pipefail
SOC_STORE=pg exec bash "$(dirname "$0")/soc_relp_kill.sh"
