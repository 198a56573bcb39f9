"""Placeholder; replaced by the sandbox email backend."""

from django.core.mail.backends.locmem import EmailBackend  # noqa: F401
