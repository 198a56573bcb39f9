"""The factura form (pinned field names: rut, razon_social, giro, direccion, comuna, email; documento)."""

from __future__ import annotations

from django import forms

from emission.dte import DteRefusal, Receptor
from emission.dte.parties import canonical_rut


class FacturaForm(forms.Form):
    documento = forms.ChoiceField(
        choices=[("boleta", "Boleta"), ("factura", "Factura")], required=False, initial="factura"
    )
    rut = forms.CharField(label="RUT de la empresa", max_length=14)
    razon_social = forms.CharField(label="Razón social", max_length=100)
    giro = forms.CharField(label="Giro", max_length=40)
    direccion = forms.CharField(label="Dirección", max_length=70)
    comuna = forms.CharField(label="Comuna", max_length=20)
    email = forms.EmailField(label="Correo para recibir la factura", max_length=80)

    def clean_rut(self) -> str:
        rut = canonical_rut(self.cleaned_data["rut"])
        if rut is None:
            raise forms.ValidationError("El RUT no es válido: revisa el dígito verificador.")
        if rut == "66666666-6":
            raise forms.ValidationError("Ingresa el RUT de la empresa, no el de consumidor final.")
        return rut

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
