"""A newcomer's first run (issue 15 point 12): on a fresh database ``./run`` says what the demo store has
and what to open, and README's first-five-minutes quotes exactly that."""

from __future__ import annotations

import io
import re

from django.core.management import call_command

from sandbox.models import Order
from tests.conftest import REPO_ROOT

SEED_LINE = "Tienda «demo» (Tienda Demo): 5 pedidos de ejemplo, 5 pendientes de pago (#1001 a #1005)."


def _seed_output() -> str:
    out = io.StringIO()
    call_command("sandbox_seed", stdout=out)
    return out.getvalue().strip()


def test_the_seed_says_what_the_demo_store_has_on_a_fresh_database(db):
    assert _seed_output() == SEED_LINE
    # Run again (``migrate`` seeds first, then ``./run`` calls the command): the same truth, not "0 added".
    assert _seed_output() == SEED_LINE
    Order.objects.filter(order_id=1001).update(status_enum="paid")
    assert _seed_output() == SEED_LINE.replace("5 pendientes", "4 pendientes")


def _run_message(base_url: str) -> list[str]:
    """The lines ``./run`` prints before starting the server, with ``$PUBLIC_BASE_URL`` = ``base_url``."""
    script = (REPO_ROOT / "run").read_text()
    [block] = re.findall(r"cat <<MSG\n(.*?)\nMSG\n", script, re.S)
    return block.replace("$PUBLIC_BASE_URL", base_url).splitlines()


def test_readme_quotes_what_run_prints():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### A newcomer's first five minutes") :]
    [block] = re.findall(r"   ```\n(.*?)\n   ```", section[: section.index("Starting it by hand")], re.S)
    quoted = [line.removeprefix("   ") for line in block.splitlines()]
    assert quoted == [SEED_LINE, *_run_message("http://localhost:8000")]
    message = "\n".join(quoted)
    for page in ("http://localhost:8000/sandbox/emails/", "«Abrir la aplicación»", "«Autorizar»"):
        assert page in message
