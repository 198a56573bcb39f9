"""``python manage.py emission_sweep``: send what is due now (retries, lost workers, undelivered).

Beat runs the same sweep every minute in production; locally (Celery eager, no beat) run it by hand.
"""

from django.core.management.base import BaseCommand

from emission.services import emission_sweep


class Command(BaseCommand):
    help = "Reenvía los documentos pendientes, los reintentos vencidos y las entregas que faltan."

    def handle(self, *args, **options):
        counts = emission_sweep()
        self.stdout.write(
            f"Enviados: {counts['send']}; reconstruidos: {counts['rebuild']}; entregas: {counts['deliver']}"
        )
