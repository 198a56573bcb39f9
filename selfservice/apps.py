"""App config for ``selfservice``."""

from django.apps import AppConfig


class SelfserviceConfig(AppConfig):
    name = "selfservice"
    verbose_name = "Autoservicio del cliente"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): the services enqueue them by name.
        from selfservice import tasks  # noqa: F401
