"""The seeded ``demo`` store ("Tienda Demo") with a few pending example orders.

Seeded by ``manage.py sandbox_seed`` (the README's run command) and after every ``migrate`` of a
sandbox run (``post_migrate``, see ``sandbox.apps``), so that a server started by hand with
``migrate`` + ``runserver`` has the store ``demo`` that the fake authorize form offers by default.

Idempotent: the store is created once (its hooks_token and tokens are kept), its customer 505 (category
"Mayoristas") once, and the example orders 1001… only when the store has no order with that id
(orders paid or canceled since are left as they are). No webhook is delivered.
"""

from __future__ import annotations

from . import services
from .models import Customer, Order, Store
from .orders import load_example

DEMO_CODE = "demo"
DEMO_NAME = "Tienda Demo"
SEED_EXAMPLES = ["afecta", "exenta", "mixta", "con_despacho", "empresa"]


# The company buyer of the example #1005 (``customer.id`` 505), in the customer category "Mayoristas": an
# emission rule "categoría Mayoristas → factura directa" can be tried on the demo store as it comes.
SEED_CUSTOMERS = [
    {
        "id": 505,
        "email": "compras@losandes.example.cl",
        "name": "Francisca",
        "surname": "Pérez",
        "customer_categories": ["Mayoristas"],
    }
]


def seed_demo() -> tuple[Store, bool, int]:
    """Ensure the demo store, its customers and its example orders; returns (store, created, orders
    added)."""
    store, created = services.store_ensure(code=DEMO_CODE, name=DEMO_NAME)
    for customer in SEED_CUSTOMERS:
        if not Customer.objects.filter(store=store, customer_id=customer["id"]).exists():
            services.customer_create(store=store, customer=customer)
    added = 0
    for offset, name in enumerate(SEED_EXAMPLES):
        order_id = services.FIRST_ORDER_ID + offset
        if Order.objects.filter(store=store, order_id=order_id).exists():
            continue
        services.order_create(store=store, order={**load_example(name), "id": order_id}, notify=False)
        added += 1
    return store, created, added
