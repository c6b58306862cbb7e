# Shared by scripts/demo and scripts/test: a virtual environment with the project and its test extras.
# Sourced, not run. Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PULUMI_ZSTACK_VENV:-$REPO/.venv}"

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.pulumi-zstack-installed"
  if [ ! -f "$stamp" ] || [ "$REPO/pyproject.toml" -nt "$stamp" ]; then
    local log="$VENV/pip-install.log"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e "$REPO[test]"; } \
        >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "installing the project into $VENV failed (full log: $log)" >&2
      return 1
    fi
    touch "$stamp"
  fi
}
