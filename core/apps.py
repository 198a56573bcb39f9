"""App config for ``core``."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Núcleo"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web included): they are published by name.
        from core import tasks  # noqa: F401
