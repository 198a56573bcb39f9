"""Every benchmark in turn: ``python -m bench`` (DTE engine, webhook ingest, end-to-end emission).

Needs PostgreSQL (127.0.0.1:5432, user ``postgres``) and Redis (``BENCH_REDIS_URL``,
default redis://127.0.0.1:6379; databases named ``$BENCH_DB_PREFIX_…``, default ``bench_…``) for the
last ones; each
creates and drops its own database. Figures go to ``docs/BENCHMARKS.md`` by hand, with machine and date.
"""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    ["bench.dte_engine"],
    ["bench.ingest"],
    ["bench.emission"],
    ["bench.emission", "--scenario", "noisy"],
    ["bench.emission", "--scenario", "scale"],
    ["bench.emission", "--scenario", "lowload"],
]


def main() -> int:
    failed = []
    for module in MODULES:
        print(f"==> python -m {' '.join(module)}", flush=True)
        if subprocess.run([sys.executable, "-m", *module], check=False).returncode != 0:
            failed.append(" ".join(module))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
