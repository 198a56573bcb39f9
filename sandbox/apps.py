"""App config for ``sandbox`` (installed only when ``SANDBOX`` is on)."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox"
