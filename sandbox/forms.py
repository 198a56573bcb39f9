"""Forms of the sandbox pages (Spanish: they are for people)."""

from __future__ import annotations

import json
from decimal import Decimal

from cl_sii.rut import Rut
from django import forms

from .orders import TAX_EXEMPT, TAX_INCLUDED, TAX_ON_TOP, Buyer, Line, build_order

TAX_CHOICES = [
    (TAX_INCLUDED, "IVA incluido en el precio"),
    (TAX_EXEMPT, "Exento (sin impuesto)"),
    (TAX_ON_TOP, "IVA agregado sobre el precio"),
]
SHIPPING_TAX_CHOICES = [(TAX_INCLUDED, "IVA incluido"), (TAX_EXEMPT, "Exento")]


class StoreForm(forms.Form):
    code = forms.SlugField(label="Código (subdominio)", max_length=63)
    name = forms.CharField(label="Nombre", max_length=200)

    def clean_code(self) -> str:
        return self.cleaned_data["code"].lower()


class LineForm(forms.Form):
    name = forms.CharField(label="Producto", max_length=200, required=False)
    qty = forms.DecimalField(
        label="Cantidad", min_value=Decimal("0.001"), max_digits=12, decimal_places=3, initial=1
    )
    price = forms.DecimalField(
        label="Precio unitario", min_value=0, max_digits=14, decimal_places=2, required=False
    )
    tax = forms.ChoiceField(label="Impuesto", choices=TAX_CHOICES, initial=TAX_INCLUDED)
    discount = forms.DecimalField(
        label="Descuento de la línea", min_value=0, max_digits=14, decimal_places=0, initial=0
    )


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=20)


class OrderForm(forms.Form):
    name = forms.CharField(label="Nombre", max_length=100, initial="Camila")
    surname = forms.CharField(label="Apellido", max_length=100, initial="Rojas", required=False)
    email = forms.EmailField(label="Correo del cliente", initial="camila.rojas@example.cl")
    taxid = forms.CharField(label="RUT (opcional)", max_length=20, required=False)
    company_name = forms.CharField(label="Razón social (comprador empresa)", max_length=200, required=False)
    business_activity = forms.CharField(label="Giro", max_length=200, required=False)
    address = forms.CharField(label="Dirección", max_length=200, initial="Av. Providencia 1234")
    municipality = forms.CharField(label="Comuna", max_length=100, initial="Providencia")
    city = forms.CharField(label="Ciudad", max_length=100, initial="Santiago")
    shipping = forms.DecimalField(label="Despacho", min_value=0, max_digits=14, decimal_places=0, initial=0)
    shipping_tax = forms.ChoiceField(label="Impuesto del despacho", choices=SHIPPING_TAX_CHOICES)
    order_discount = forms.DecimalField(
        label="Descuento del pedido (pesos)", min_value=0, max_digits=14, decimal_places=0, initial=0
    )

    def clean_taxid(self) -> str:
        value = self.cleaned_data["taxid"].strip()
        if value:
            try:
                Rut(value.replace(".", "").upper(), validate_dv=True)
            except (ValueError, TypeError):
                raise forms.ValidationError("El RUT no es válido.") from None
        return value

    def clean(self):
        data = super().clean()
        if data.get("company_name") and not data.get("taxid"):
            self.add_error("taxid", "Un comprador empresa necesita RUT.")
        return data

    def build(self, lines: list[Line]) -> dict:
        data = self.cleaned_data
        address, _, number = data["address"].rpartition(" ")
        if not address or not number.isdigit():
            address, number = data["address"], ""
        buyer = Buyer(
            name=data["name"],
            surname=data["surname"],
            email=data["email"],
            taxid=data["taxid"],
            address=address,
            street_number=number,
            municipality=data["municipality"],
            city=data["city"],
            company_name=data["company_name"],
            business_activity=data["business_activity"],
        )
        return build_order(
            lines,
            buyer=buyer,
            shipping=data["shipping"],
            shipping_tax=data["shipping_tax"],
            order_discount=data["order_discount"],
        )


def lines_from(formset) -> list[Line]:
    lines = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if data.get("name") and data.get("price") is not None:
            lines.append(
                Line(
                    name=data["name"],
                    qty=data["qty"],
                    price=data["price"],
                    tax=data["tax"],
                    discount=data.get("discount") or Decimal(0),
                )
            )
    return lines


class JsonOrderForm(forms.Form):
    payload = forms.CharField(label="Pedido en JSON", widget=forms.Textarea(attrs={"rows": 14}))

    def clean_payload(self) -> dict:
        try:
            data = json.loads(self.cleaned_data["payload"])
        except ValueError as exc:
            raise forms.ValidationError(f"No es JSON válido: {exc}") from None
        if isinstance(data, dict) and isinstance(data.get("order"), dict):
            data = data["order"]
        if not isinstance(data, dict):
            raise forms.ValidationError('Debe ser un objeto {"order": {...}} o el pedido mismo.')
        return data
