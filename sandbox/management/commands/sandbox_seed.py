"""``manage.py sandbox_seed``: the store ``demo`` ("Tienda Demo") with a few pending example orders.

Idempotent (see ``sandbox.seed``); ``migrate`` in a sandbox run does the same by itself.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.template.defaultfilters import pluralize

from sandbox.models import Order, Store
from sandbox.seed import seed_demo


class Command(BaseCommand):
    help = "Crea (si falta) la tienda demo del sandbox con pedidos pendientes de ejemplo."

    def handle(self, *args, **options) -> None:
        store, _created, _added = seed_demo()
        self.stdout.write(seed_summary(store))


def seed_summary(store: Store) -> str:
    """What the demo store has now, whoever seeded it (``migrate`` already does on a fresh database):
    ``Tienda «demo» (Tienda Demo): 5 pedidos de ejemplo, 5 pendientes de pago (#1001 a #1005).``"""
    orders = Order.objects.filter(store=store).order_by("order_id")
    ids = list(orders.values_list("order_id", flat=True))
    pending = orders.filter(status_enum="pending_payment").count()
    span = f" (#{ids[0]} a #{ids[-1]})" if ids else ""
    return (
        f"Tienda «{store.code}» ({store.name}): {len(ids)} pedido{pluralize(len(ids))} de ejemplo, "
        f"{pending} pendiente{pluralize(pending)} de pago{span}."
    )
