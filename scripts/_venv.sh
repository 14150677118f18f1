# Sourced by scripts/demo and scripts/test: find Python 3.10, create or reuse
# .venv, and (re)install the package with the extras given in $EXTRAS when
# pyproject.toml or the extras changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LAVA_EPROP_VENV:-$ROOT/.venv}"

find_python310() {
    local cand
    for cand in "${PYTHON:-}" python3.10 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)"/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
        [ -n "$cand" ] || continue
        if "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
            echo "$cand"; return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY="$(find_python310)"; then
        echo "error: Python 3.10 not found (Lava 0.10.0 needs >=3.10,<3.11); install it (e.g. 'pyenv install 3.10' or 'apt-get install python3.10') or set PYTHON=/path/to/python3.10" >&2
        exit 2
    fi
    echo "creating virtual environment $VENV with $PY" >&2
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel > "$VENV/install.log" 2>&1
fi

# The stamp records the pyproject.toml hash and the extras installed with it; a
# run that needs no extras (the demo) accepts any install of the same pyproject.
STAMP="$VENV/.lava-eprop-install"
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
HAVE_HASH="" HAVE_EXTRAS=""
[ -f "$STAMP" ] && read -r HAVE_HASH HAVE_EXTRAS < "$STAMP"
if [ "$HAVE_HASH" != "$HASH" ] || { [ -n "$EXTRAS" ] && [ "$HAVE_EXTRAS" != "$EXTRAS" ]; }; then
    echo "installing lava-eprop${EXTRAS:+[$EXTRAS]} into $VENV (the first run downloads dependencies)" >&2
    SPEC="$ROOT"; [ -n "$EXTRAS" ] && SPEC="$ROOT[$EXTRAS]"
    if ! "$VENV/bin/python" -m pip install -q -e "$SPEC" > "$VENV/install.log" 2>&1; then
        cat "$VENV/install.log" >&2
        echo "error: installing lava-eprop failed; the pip log above is in $VENV/install.log" >&2
        exit 1
    fi
    echo "$HASH $EXTRAS" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
