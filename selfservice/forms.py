"""The factura form (pinned field names: rut, razon_social, giro, direccion, comuna, email; documento)."""

from __future__ import annotations

from django import forms

from emission.dte import DteRefusal, Receptor
from emission.dte.parties import GIRO_RECEPTOR_MAX, canonical_rut

# Taxpayer data may carry a giro longer than the SII's 40 characters (GiroRecep, DTE_v10.xsd): the field
# takes it and the form shortens it, so the customer sees the shortened giro on the confirmation step.
GIRO_INPUT_MAX = 80
# Words a shortened giro should not end on ("… INTEGRALES DE" reads as cut).
_DANGLING = {"a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "los", "o", "para", "por", "u", "y"}


def giro_shortened(giro: str, length: int = GIRO_RECEPTOR_MAX) -> str:
    """``giro`` cut at a word boundary to at most ``length`` characters, without a dangling connector or
    punctuation at the end; a single word longer than ``length`` is cut inside it."""
    giro = " ".join(giro.split())
    if len(giro) <= length:
        return giro
    words = giro[: length + 1].split(" ")[:-1]  # the last piece is cut (or empty): dropped
    while len(words) > 1 and words[-1].lower().strip(",;.-") in _DANGLING:
        words.pop()
    shortened = " ".join(words).rstrip(" ,;.-")
    return shortened or giro[:length]


class FacturaForm(forms.Form):
    documento = forms.ChoiceField(choices=[("boleta", "Boleta"), ("factura", "Factura")], required=False)
    rut = forms.CharField(label="RUT de la empresa", max_length=14)
    razon_social = forms.CharField(label="Razón social", max_length=100)
    giro = forms.CharField(label="Giro", max_length=GIRO_INPUT_MAX)
    direccion = forms.CharField(label="Dirección", max_length=70)
    comuna = forms.CharField(label="Comuna", max_length=20)
    email = forms.EmailField(label="Correo para recibir la factura", max_length=80)

    giro_original = ""  # the giro as typed, when the form had to shorten it

    def clean_rut(self) -> str:
        rut = canonical_rut(self.cleaned_data["rut"])
        if rut is None:
            raise forms.ValidationError("El RUT no es válido: revisa el dígito verificador.")
        if rut == "66666666-6":
            raise forms.ValidationError("Ingresa el RUT de la empresa, no el de consumidor final.")
        return rut

    def clean_giro(self) -> str:
        typed = " ".join(self.cleaned_data["giro"].split())
        giro = giro_shortened(typed)
        if giro != typed:
            self.giro_original = typed
        return giro

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.receptor = Receptor(
                rut=data["rut"],
                razon_social=data["razon_social"],
                giro=data["giro"],
                direccion=data["direccion"],
                comuna=data["comuna"],
                email=data["email"],
            ).validated()
        except DteRefusal as refusal:
            field = refusal.field if refusal.field in self.fields else None
            self.add_error(field, refusal.message)
        return data


def document_choice(data, *, mode_chooses: bool) -> str | None:
    """The document a POST asks for: ``boleta`` or ``factura``, or ``None`` when the customer must choose
    (mode 3) and did not."""
    choice = data.get("documento")
    if choice in ("boleta", "factura"):
        return choice
    return None if mode_chooses else "factura"
