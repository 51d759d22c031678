# Helpers of the setup scripts (sourced).
step() { printf '\n==> %s\n' "$*"; }

# apt_install PKG...: installs the packages not installed yet (SKIP_APT=1 skips).
apt_install() {
  [ "${SKIP_APT:-0}" = 1 ] && return 0
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# python_venv: the venv with $PY_PACKAGES (other engines reading the lake).
python_venv() {
  if ! "$TAPEMETRIC_PYTHON" -c "import duckdb, chdb" 2>/dev/null; then
    step "Python venv with $PY_PACKAGES (pip)"
    python3 -m venv "$TAPEMETRIC_VENV"
    "$TAPEMETRIC_VENV/bin/pip" install -q $PY_PACKAGES
  fi
}
