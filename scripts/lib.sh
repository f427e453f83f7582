# Shared set-up for the README's commands (sourced, not run). Every step is
# idempotent and returns at once when already done.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AUTHZ_ROOT=$ROOT
# One cargo target dir for the host workspace, the policies workspace and the
# nested policy build, outside the clone so repeated runs are incremental.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/authz/target}
export AUTHZ_VENV=${AUTHZ_VENV:-$ROOT/.venv}

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    step "adding the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
  fi
}

# The project's Python venv (moto and the SAM tools), rebuilt only when
# scripts/requirements.txt changes.
ensure_venv() {
  local want have
  want=$(sha256sum "$ROOT/scripts/requirements.txt" | cut -d' ' -f1)
  have=$(cat "$AUTHZ_VENV/.requirements.sha256" 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    return 0
  fi
  step "installing Python tools into $AUTHZ_VENV (first run only)"
  [ -x "$AUTHZ_VENV/bin/python" ] || python3 -m venv "$AUTHZ_VENV"
  "$AUTHZ_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$AUTHZ_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
  echo "$want" > "$AUTHZ_VENV/.requirements.sha256"
}

ensure_all() {
  ensure_wasm_target
  ensure_venv
}
