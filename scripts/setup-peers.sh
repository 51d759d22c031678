#!/usr/bin/env bash
# Installs the peers that `make bench-peers` measures Tapemetric against (not needed by `make test`):
# PostgreSQL 15 from Debian's packages (the store behind mave; peer-bench runs a private cluster of it
# as the `postgres` user, never the package's own service) and chDB from PyPI (ClickHouse's engine,
# in the venv that scripts/setup.sh makes). Idempotent: each step is skipped when its result is there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  step "apt packages: postgresql-15"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql-15
fi

if ! "$TAPEMETRIC_PYTHON" -c "import chdb" 2>/dev/null; then
  step "Python venv with $PY_PACKAGES (pip)"
  python3 -m venv "$TAPEMETRIC_VENV"
  "$TAPEMETRIC_VENV/bin/pip" install -q $PY_PACKAGES
fi

echo "setup-peers: PostgreSQL $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), chDB $("$TAPEMETRIC_PYTHON" -c 'import chdb; print(chdb.__version__)')"
