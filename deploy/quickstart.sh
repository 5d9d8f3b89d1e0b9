#!/usr/bin/env bash
# Sets up and starts Signet on its embedded default (SQLite files + SoftHSM2):
# installs SoftHSM2 if missing, builds, creates ./pki with `signet init` if it
# does not exist, and runs `signet up`. Ctrl-C stops the services.
#
#   ./deploy/quickstart.sh [HOME] [--key-type p256|p384|rsa2048|rsa3072|rsa4096|sm2]
set -euo pipefail
cd "$(dirname "$0")/.."
home="${1:-./pki}"
shift || true

SIGNET_WITH_BROWSER=0 ./scripts/install-deps
cargo build --release --locked -p signet-cli
signet=./target/release/signet

if [[ ! -f "$home/signet.toml" ]]; then
  "$signet" init --home "$home" "$@"
fi
exec "$signet" up --home "$home"
