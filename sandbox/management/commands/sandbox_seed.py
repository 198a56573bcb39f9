"""``manage.py sandbox_seed``: the store ``demo`` ("Tienda Demo") with a few pending example orders.

Idempotent (see ``sandbox.seed``); ``migrate`` in a sandbox run does the same by itself.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sandbox.seed import seed_demo


class Command(BaseCommand):
    help = "Crea (si falta) la tienda demo del sandbox con pedidos pendientes de ejemplo."

    def handle(self, *args, **options) -> None:
        store, created, added = seed_demo()
        state = "creada" if created else "ya existía"
        self.stdout.write(f"Tienda «{store.code}» {state}; pedidos de ejemplo agregados: {added}.")
