"""App config for ``emission``."""

from django.apps import AppConfig


class EmissionConfig(AppConfig):
    name = "emission"
    verbose_name = "Emisión de documentos"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included), not only in workers that
        # autodiscover them: the services enqueue them by name.
        from emission import tasks  # noqa: F401
