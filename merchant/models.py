"""The merchant's audit trail: who changed which setting, and when (never a secret's value)."""

from __future__ import annotations

from django.db import models


class AuditEntry(models.Model):
    """One saved change of a store's settings, as the merchant reads it ("what" is Spanish text)."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="audit_entries")
    who = models.CharField(max_length=200)
    when = models.DateTimeField(auto_now_add=True)
    what = models.TextField()

    class Meta:
        ordering = ["-when", "-pk"]
        indexes = [models.Index(fields=["store", "-when"])]

    def __str__(self) -> str:
        return f"{self.when:%Y-%m-%d %H:%M} {self.who}: {self.what[:60]}"
