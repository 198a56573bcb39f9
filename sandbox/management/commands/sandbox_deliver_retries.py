"""``manage.py sandbox_deliver_retries [--loop]``: run the due webhook retries of the fake Jumpseller.

The web process runs them by itself (a daemon thread, see ``sandbox.webhooks``); this command is for
runs where that thread is not wanted or the web process was restarted with retries pending.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from sandbox.webhooks import process_due_retries


class Command(BaseCommand):
    help = "Reintenta las entregas de webhooks del sandbox que ya vencieron."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="seguir hasta que no quede ninguno pendiente")

    def handle(self, *args, loop: bool = False, **options) -> None:
        while True:
            wait = process_due_retries()
            if wait is None:
                self.stdout.write("No quedan reintentos pendientes.")
                return
            if not loop:
                self.stdout.write(f"Próximo reintento en {wait:.1f} s.")
                return
            time.sleep(min(max(wait, 0.05), 5.0))
