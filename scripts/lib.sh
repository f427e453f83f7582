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

# The shared target dir keeps what every build left: each dependency, feature
# or toolchain change leaves the previous artifacts behind (tens of GB within
# weeks of CI runs). At most twice a day, when it is over AUTHZ_TARGET_MAX_GB
# (default 30), keep the four newest artifacts of each crate and kind in every
# deps dir (a crate is built in a few feature sets: normal and build
# dependency, three workspaces) and drop the incremental caches. Cargo
# rebuilds a removed artifact that is still wanted, so this costs build time
# at worst, never a wrong build.
prune_target_dir() {
  local stamp=$CARGO_TARGET_DIR/.authz-pruned max_gb=${AUTHZ_TARGET_MAX_GB:-30} kb
  [ -d "$CARGO_TARGET_DIR" ] || return 0
  [ -n "$(find "$stamp" -mmin -720 2>/dev/null)" ] && return 0
  touch "$stamp"
  kb=$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1)
  [ "${kb:-0}" -gt $((max_gb * 1024 * 1024)) ] || return 0
  step "the shared target dir holds $((kb / 1024 / 1024)) GB: removing superseded build artifacts"
  python3 - "$CARGO_TARGET_DIR" <<'PY'
import os, re, shutil, sys
from collections import defaultdict
root, keep, freed = sys.argv[1], 4, 0
artifact = re.compile(r"^(.+)-[0-9a-f]{16}(\..+)?$")
for top, dirs, _ in os.walk(root):
    if os.path.relpath(top, root).count(os.sep) >= 3:
        dirs[:] = []
        continue
    if os.path.basename(top) == "incremental":
        for entry in os.scandir(top):
            if entry.is_dir(follow_symlinks=False):
                freed += sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(entry.path) for f in fs)
                shutil.rmtree(entry.path, ignore_errors=True)
        dirs[:] = []
    elif os.path.basename(top) == "deps":
        groups = defaultdict(list)
        for entry in os.scandir(top):
            m = artifact.match(entry.name)
            if m and entry.is_file(follow_symlinks=False):
                st = entry.stat()
                groups[m.group(1), m.group(2) or ""].append((st.st_mtime, st.st_size, entry.path))
        for versions in groups.values():
            for _, size, path in sorted(versions, reverse=True)[keep:]:
                os.remove(path)
                freed += size
        dirs[:] = []
print(f"freed {freed / 2**30:.1f} GB", file=sys.stderr)
PY
}

ensure_all() {
  ensure_wasm_target
  ensure_venv
  ensure_built_here
  prune_target_dir
}
