#!/usr/bin/env bash
# Installs the peers that `make bench-peers` measures Tapemetric against (not needed by `make test`):
# PostgreSQL 15 from Debian's packages (the store behind mave; peer-bench runs a private cluster of it
# as the `postgres` user, never the package's own service) and chDB from PyPI (ClickHouse's engine,
# in the venv that scripts/setup-test.sh makes too). Idempotent: each step is skipped when its result is there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

source scripts/setup-lib.sh

if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  step "apt packages: postgresql-15"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql-15
fi

apt_install python3-venv
python_venv

echo "setup-peers: PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), chDB $("$TAPEMETRIC_PYTHON" -c 'import chdb; print(chdb.__version__)')"
