"""``manage.py sandbox_seed``: the store ``demo`` ("Tienda Demo") with a few pending example orders.

Idempotent: the store is created once (its hooks_token and tokens are kept), and the example orders
1001… are created only when the store has no order with that id (orders paid or canceled since are left
as they are). No webhook is delivered.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sandbox import services
from sandbox.models import Order
from sandbox.orders import load_example

DEMO_CODE = "demo"
DEMO_NAME = "Tienda Demo"
SEED_EXAMPLES = ["afecta", "exenta", "mixta", "con_despacho", "empresa"]


class Command(BaseCommand):
    help = "Crea (si falta) la tienda demo del sandbox con pedidos pendientes de ejemplo."

    def handle(self, *args, **options) -> None:
        store, created = services.store_ensure(code=DEMO_CODE, name=DEMO_NAME)
        added = 0
        for offset, name in enumerate(SEED_EXAMPLES):
            order_id = services.FIRST_ORDER_ID + offset
            if Order.objects.filter(store=store, order_id=order_id).exists():
                continue
            order = {**load_example(name), "id": order_id}
            services.order_create(store=store, order=order, notify=False)
            added += 1
        state = "creada" if created else "ya existía"
        self.stdout.write(f"Tienda «{store.code}» {state}; pedidos de ejemplo agregados: {added}.")
