#!/usr/bin/env bash
# Run by scripts/test after the full suite: the core suite (the tests that need
# no Lava, LAVA_EPROP_CORE_TESTS=1, slow runs deselected) on the newest Python
# 3.11-3.13 found, in .venv-core holding only the core and .[test]; the venv
# is reinstalled when pyproject.toml or that Python changes. Without such a
# Python it says so on one line and exits 0. Arguments are passed to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LAVA_EPROP_CORE_VENV:-$ROOT/.venv-core}"

find_newest_python() {
    local minor cand
    for minor in 13 12 11; do
        for cand in "${PYTHON_CORE:-}" "python3.$minor" \
                "$(command -v pyenv >/dev/null 2>&1 && pyenv root)"/versions/3.$minor*/bin/python3.$minor \
                /usr/bin/python3.$minor /usr/local/bin/python3.$minor; do
            [ -n "$cand" ] || continue
            if "$cand" -c "import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13)" >/dev/null 2>&1; then
                echo "$cand"; return 0
            fi
        done
    done
    return 1
}

if ! PY="$(find_newest_python)"; then
    echo "note: no Python 3.11-3.13 found (PATH, pyenv, PYTHON_CORE): skipping the core suite without Lava" >&2
    exit 0
fi
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
STAMP="$VENV/.lava-eprop-install"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16) $PYVER"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "installing lava-eprop[test] (no Lava) into $VENV with Python $PYVER" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    if ! "$VENV/bin/python" -m pip install -q -e "$ROOT[test]" > "$VENV/install.log" 2>&1; then
        cat "$VENV/install.log" >&2
        echo "error: installing lava-eprop on Python $PYVER failed; the pip log above is in $VENV/install.log" >&2
        exit 1
    fi
    echo "$WANT" > "$STAMP"
fi
cd "$ROOT"
echo "core suite without Lava on Python $PYVER ($VENV)" >&2
status=0
LAVA_EPROP_CORE_TESTS=1 "$VENV/bin/python" -m pytest -ra --durations=5 -n auto --dist loadfile -m "not slow" "$@" || status=$?
if [ "$status" -eq 5 ]; then        # the selection held only tests that need Lava
    echo "note: no core tests in this selection" >&2
    status=0
fi
exit "$status"
