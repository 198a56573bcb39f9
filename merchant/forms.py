"""Forms of the merchant pages: parsing and field-level messages only (changes go through services)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from core.formatting import parse_clp
from emission.models import EmissionMode

MODE_HELP = {
    EmissionMode.BOLETA: (
        "Emitimos una boleta electrónica apenas el pedido queda pagado y se la enviamos al cliente."
    ),
    EmissionMode.BOLETA_CONVERTIBLE: (
        "Emitimos la boleta al pagar y el correo trae un enlace para que el cliente la cambie por una "
        "factura (la boleta se anula con una nota de crédito)."
    ),
    EmissionMode.LINK_BOLETA_O_FACTURA: (
        "No emitimos nada al pagar: el cliente recibe un enlace para elegir boleta o factura y emitirla."
    ),
    EmissionMode.LINK_SOLO_BOLETA: (
        "No emitimos nada al pagar: el cliente recibe un enlace para emitir su boleta cuando quiera."
    ),
}


class SettingsForm(forms.Form):
    api_key = forms.CharField(
        label="API key de OpenFactura",
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=(
            "Déjala en blanco para mantener la actual. La verificamos con OpenFactura antes de guardarla."
        ),
    )
    demo_mode = forms.BooleanField(
        label="Integrar con empresa de demostración en ambiente de pruebas", required=False
    )
    demo_recipient_email = forms.EmailField(
        label="Correo que recibe los documentos de prueba",
        required=False,
        max_length=254,
        help_text=(
            "En modo demo los correos de tus clientes llegan a este correo y nunca a ellos. Si lo dejas en "
            "blanco, en modo demo no se envía ningún correo."
        ),
        error_messages={"invalid": "Ingresa un correo válido, por ejemplo nombre@tutienda.cl."},
    )
    demo_attach_documents = forms.BooleanField(
        label="Adjuntar los documentos de prueba en los pedidos de Jumpseller",
        required=False,
        help_text=(
            "Si no lo marcas, en modo demo no se adjunta nada a tus pedidos (tus clientes podrían verlo)."
        ),
    )
    mode = forms.TypedChoiceField(
        label="Modo de emisión",
        choices=EmissionMode.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )
    untaxed_taxed = forms.BooleanField(
        label="Tratar productos sin impuesto como afectos (IVA incluido)", required=False
    )
    factura_directa = forms.BooleanField(
        label="Emitir factura directamente cuando el cliente ingresa datos de empresa en el checkout",
        required=False,
    )
    email_customer = forms.BooleanField(label="Enviar el documento por correo al cliente", required=False)
    email_copy_merchant = forms.BooleanField(label="Enviarme una copia de cada correo", required=False)
    merchant_email = forms.EmailField(label="Mi correo para la copia", required=False)

    def __init__(self, *args, has_api_key: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.has_api_key = has_api_key

    def clean(self):
        data = super().clean()
        if not data.get("demo_mode") and not data.get("api_key") and not self.has_api_key:
            self.add_error(
                "api_key",
                "Para emitir documentos reales ingresa la API key de tu empresa en OpenFactura "
                "(o deja activa la empresa de demostración).",
            )
        if data.get("email_copy_merchant") and not data.get("merchant_email"):
            self.add_error("merchant_email", "Indica a qué correo enviamos la copia.")
        return data


class IssuerForm(forms.Form):
    acteco = forms.ChoiceField(label="Actividad económica", required=False)
    sucursal = forms.ChoiceField(label="Sucursal", required=False)

    def __init__(self, *args, organization: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        actividades = organization.get("actividades") or []
        self.fields["acteco"].choices = [("", "La actividad principal")] + [
            (
                str(a.get("codigoActividadEconomica")),
                f"{a.get('codigoActividadEconomica')} · {a.get('actividadEconomica')}",
            )
            for a in actividades
        ]
        sucursales = organization.get("sucursales") or []
        self.fields["sucursal"].choices = [("", f"Casa matriz · {organization.get('direccion', '')}")] + [
            (str(s.get("cdgSIISucur")), f"{s.get('direccion')}, {s.get('comuna')}") for s in sucursales
        ]


class DocumentFilterForm(forms.Form):
    kind = forms.ChoiceField(label="Tipo", required=False)
    state = forms.ChoiceField(label="Estado", required=False)
    date_from = forms.DateField(label="Desde", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Hasta", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    order = forms.CharField(label="N° de orden", required=False, max_length=40)
    folio = forms.IntegerField(label="Folio", required=False, min_value=1)
    env = forms.ChoiceField(
        label="Ambiente",
        required=False,
        choices=[("", "Todos"), ("demo", "Demostración"), ("prod", "Producción")],
    )

    def __init__(self, *args, **kwargs) -> None:
        from emission.models import DocumentKind, DocumentState

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Todos"), *DocumentKind.choices]
        self.fields["state"].choices = [("", "Todos"), *DocumentState.choices]


class OrderNumberForm(forms.Form):
    order_id = forms.IntegerField(label="N° de orden", min_value=1)


class ReconcileForm(forms.Form):
    date_from = forms.DateField(label="Desde", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="Hasta", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "La fecha final debe ser posterior a la inicial.")
        return data


class ClpAmountField(forms.CharField):
    """Pesos as a Chilean types them (``10.000``, ``$10.000``, ``10000``) → an ``int``; decimals and
    ambiguous forms (``10,5``, ``10.00``) are refused in Spanish, never guessed."""

    default_error_messages = {
        "invalid": "Escribe el monto en pesos, sin decimales: por ejemplo 10.000 o $10.000.",
        "min_value": "El monto debe ser de al menos $1.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        amount = parse_clp(text)
        if amount is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if amount < 1:
            raise forms.ValidationError(self.error_messages["min_value"], code="min_value")
        return amount


class QuantityField(forms.CharField):
    """Units returned of one line of the original: a whole number (the engine checks it against what was
    sold)."""

    default_error_messages = {"invalid": "Escribe una cantidad entera, por ejemplo 1."}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 4})
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if text in ("", "0"):
            return None
        if not text.isascii() or not text.isdigit():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(int(text))


class NotaCreditoParcialForm(forms.Form):
    """A partial refund: an amount typed the Chilean way, or units of the original's lines (``lines``: the
    original's ``Detalle``; one field ``linea_<NroLinDet>`` each). ``cleaned_data["lines"]`` is what the
    service takes (``[(NroLinDet, units)]`` or None)."""

    amount = ClpAmountField(label="Monto a devolver (con IVA)", required=False)
    razon = forms.CharField(label="Motivo", max_length=90, initial="Devolución parcial")
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args, lines: list[dict] | tuple = (), **kwargs) -> None:
        kwargs.setdefault("auto_id", "id_parcial_%s")  # the detail page also has the total nota's "Motivo"
        super().__init__(*args, **kwargs)
        self.line_names: list[str] = []
        self._sold: dict[str, object] = {}
        for number, line in enumerate(lines, start=1):
            name = f"linea_{line.get('NroLinDet', number)}"
            self.fields[name] = QuantityField(label=str(line.get("NmbItem", "")))
            self.line_names.append(name)
            self._sold[name] = line.get("QtyItem") or 1

    @property
    def line_rows(self) -> list[dict]:
        """Each line's field with the units sold, for the detail page's table."""
        return [{"field": self[name], "sold": self._sold[name]} for name in self.line_names]

    def clean(self):
        data = super().clean()
        picked = [
            (int(name.removeprefix("linea_")), data[name]) for name in self.line_names if data.get(name)
        ]
        if "amount" in self.errors:
            return data
        if data.get("amount") and picked:
            self.add_error(None, "Indica el monto a devolver o las unidades devueltas, no ambos.")
        elif not data.get("amount") and not picked:
            self.add_error("amount", "Indica el monto a devolver o las unidades devueltas de cada producto.")
        data["lines"] = picked or None
        return data


class NotaCreditoTotalForm(forms.Form):
    razon = forms.CharField(label="Motivo", max_length=90, initial="Anula documento")

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "id_total_%s")
        super().__init__(*args, **kwargs)


class ResolveForm(forms.Form):
    folio = forms.IntegerField(
        label="Folio emitido en otro sistema (opcional)",
        required=False,
        min_value=1,
        error_messages={"invalid": "El folio es un número entero, por ejemplo 4521."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    motivo = forms.CharField(
        label="Motivo",
        max_length=200,
        help_text="Queda en el registro de cambios. El documento no se enviará a OpenFactura.",
        error_messages={"required": "Indica por qué lo marcas como resuelto."},
    )


class ReceptorForm(forms.Form):
    """The buyer of a factura, checked as the DTE engine checks it (RUT and its check digit, every field)."""

    rut = forms.CharField(
        label="RUT", max_length=14, help_text="Con dígito verificador, por ejemplo 76.430.498-5."
    )
    razon_social = forms.CharField(label="Razón social", max_length=100)
    giro = forms.CharField(label="Giro", max_length=80)
    direccion = forms.CharField(label="Dirección", max_length=70)
    comuna = forms.CharField(label="Comuna", max_length=20)

    def clean(self):
        from emission.dte import DteRefusal, Receptor

        data = super().clean()
        if self.errors:
            return data
        try:
            self.receptor = Receptor.from_json(data).validated(factura=True)
        except DteRefusal as refusal:
            self.add_error(refusal.field if refusal.field in self.fields else None, refusal.message)
        return data


# --- Reglas de emisión (issue 17 §1) ----------------------------------------------------------------
class RuleForm(forms.Form):
    """One emission rule: its conditions (at least one; all must hold) and what it chooses."""

    name = forms.CharField(
        label="Nombre (opcional)",
        required=False,
        max_length=80,
        help_text="Para reconocerla en la lista y en cada documento, por ejemplo «Mayoristas».",
    )
    customer_category = forms.CharField(
        label="Categoría del cliente",
        required=False,
        max_length=100,
        help_text="Tal como se llama en Jumpseller (Clientes → Categorías), por ejemplo Mayoristas.",
    )
    company_rut = forms.BooleanField(label="El cliente ingresó RUT de empresa en el checkout", required=False)
    total_min = ClpAmountField(
        label="Total del pedido desde", required=False, help_text="Por ejemplo 100.000."
    )
    total_max = ClpAmountField(
        label="Total del pedido menor a", required=False, help_text="Por ejemplo 50.000."
    )
    origin = forms.ChoiceField(label="Origen del pedido", required=False)
    mode = forms.TypedChoiceField(
        label="Modo de emisión que aplica",
        choices=EmissionMode.choices,
        coerce=int,
        error_messages={"required": "Elige el modo de emisión que aplica esta regla."},
    )
    factura_directa = forms.BooleanField(
        label="Emitir factura directamente si el cliente ingresó datos de empresa",
        required=False,
        help_text="Solo en los modos 1 y 2 (en los modos 3 y 4 el cliente elige en el enlace).",
    )

    def __init__(self, *args, **kwargs) -> None:
        from emission.models import OrderOrigin

        kwargs.setdefault("auto_id", "id_regla_%s")
        super().__init__(*args, **kwargs)
        self.fields["origin"].choices = [("", "Cualquier origen"), *OrderOrigin.choices]

    def clean_customer_category(self) -> str:
        return " ".join(self.cleaned_data["customer_category"].split())

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        conditions = (
            data.get("customer_category"),
            data.get("company_rut"),
            data.get("total_min") is not None,
            data.get("total_max") is not None,
            data.get("origin"),
        )
        if not any(conditions):
            self.add_error(
                None,
                "Indica al menos una condición. Para todos los pedidos se usa el modo de la tienda, que "
                "se elige en Configuración.",
            )
        if data.get("total_min") is not None and data.get("total_max") is not None:
            if data["total_min"] >= data["total_max"]:
                self.add_error("total_max", "Debe ser mayor que el monto «desde».")
        return data


class RuleTestForm(forms.Form):
    orden = forms.IntegerField(
        label="N° de orden",
        min_value=1,
        error_messages={
            "required": "Indica el número de una orden de tu tienda.",
            "invalid": "El número de orden es un número entero, por ejemplo 1005.",
            "min_value": "El número de orden es un número entero, por ejemplo 1005.",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
