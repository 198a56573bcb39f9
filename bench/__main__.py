"""Every benchmark in turn: ``python -m bench`` (DTE engine, webhook ingest, end-to-end emission).

Needs PostgreSQL (127.0.0.1:5432, user ``postgres``) and Redis (127.0.0.1:6379) for the last two; each
creates and drops its own database. Figures go to ``docs/BENCHMARKS.md`` by hand, with machine and date.
"""

from __future__ import annotations

import subprocess
import sys

MODULES = ["bench.dte_engine", "bench.ingest", "bench.emission"]


def main() -> int:
    failed = []
    for module in MODULES:
        print(f"==> python -m {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
