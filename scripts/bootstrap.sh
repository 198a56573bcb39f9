# Sourced by ./run, ./test and scripts/lock: creates .venv with Python 3.11 and installs the locked
# dependencies (requirements-dev.txt: the runtime lock plus the test tools, every package pinned and
# hashed) when a lock changes. Needs nothing but Python 3.11 on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON_BIN=python3.11; else PYTHON_BIN=python3; fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> Creando el entorno virtual (.venv) con $PYTHON_BIN"
  "$PYTHON_BIN" -m venv .venv
fi
stamp=".venv/.requirements.sha256"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> Instalando dependencias"
  # Some machines list local package folders that do not exist; pip warns once per package about them.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt \
    2> >(grep -v "^WARNING: Location 'file://" >&2)
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
