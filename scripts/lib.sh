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

# Crates that record the checkout's path at build time (env!("CARGO_MANIFEST_DIR")
# for fixtures, policies, the venv and the template). Cargo reuses their
# artifacts when the same sources are built from another path, so a target
# dir shared by two checkouts (CI's clone and a working copy) would point one
# at the other's files: when the last checkout to build here was another one,
# these crates are rebuilt (the rest of the cache stays).
ensure_built_here() {
  local stamp=$CARGO_TARGET_DIR/.authz-checkout last
  last=$(cat "$stamp" 2>/dev/null || true)
  [ "$last" = "$ROOT" ] && return 0
  if [ -n "$last" ]; then
    step "the shared target dir was last built from $last: rebuilding what records the checkout's path"
    local crates=(-p policy-artifacts -p authz-local -p authz -p authz-engine -p get-notes)
    (cd "$ROOT" && cargo clean --quiet "${crates[@]}" && cargo clean --quiet --release "${crates[@]}")
  fi
  mkdir -p "$CARGO_TARGET_DIR"
  echo "$ROOT" > "$stamp"
}

ensure_all() {
  ensure_wasm_target
  ensure_venv
  ensure_built_here
}
