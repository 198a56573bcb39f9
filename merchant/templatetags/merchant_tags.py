"""Spanish labels for what the pipeline records in English (attempt outcomes)."""

from django import template

register = template.Library()

OUTCOMES = {
    "emitted": "Emitido",
    "duplicate": "Ya estaba emitido (recuperado)",
    "recovered": "Ya estaba emitido (recuperado)",
    "late_answer": "Respuesta tardía (recuperado)",
    "transient": "Error temporal, se reintenta",
    "rejected": "Rechazado por OpenFactura",
    "refused": "No se pudo armar el documento",
    "unauthorized": "API key rechazada",
}


@register.filter
def outcome_label(value: str) -> str:
    return OUTCOMES.get(value, value)
