"""The "Reglas de emisión" page (issue 17 §1): add, reorder, remove and try the store's emission rules."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from emission import services as emission_services
from emission.models import EmissionMode, EmissionRule
from integration.client import JumpsellerError, JumpsellerNotFound
from integration.decorators import merchant_required, store_object_or_404
from integration.services import StoreDisconnected

from . import selectors, services
from .forms import RuleForm, RuleTestForm
from .views import _render, _who

AUDIT_PREFIX = "Reglas de emisión"


def _audit(request: HttpRequest, text: str) -> None:
    """Recorded like every Configuración change: the same trail, shown on both pages."""
    services.audit_record(store_id=request.store.pk, who=_who(request), what=f"{AUDIT_PREFIX}: {text}")


def _trial(request: HttpRequest, cfg) -> tuple[RuleTestForm, object | None, str]:
    """ "Probar" (``?orden=N``): the bound form, the trial (or None) and an error to show."""
    if "orden" not in request.GET:
        return RuleTestForm(), None, ""
    form = RuleTestForm(request.GET)
    if not form.is_valid():
        return form, None, ""
    order_id = form.cleaned_data["orden"]
    try:
        trial = emission_services.rules_try(store_id=request.store.pk, order_id=order_id, cfg=cfg)
    except JumpsellerNotFound:
        return form, None, f"No encontramos la orden {order_id} en tu tienda de Jumpseller: revisa el número."
    except (JumpsellerError, StoreDisconnected):
        return (
            form,
            None,
            "Jumpseller no respondió: no pudimos leer la orden. Inténtalo de nuevo en unos minutos.",
        )
    return form, trial, ""


def _page(request: HttpRequest, *, form: RuleForm | None = None, status: int = 200) -> HttpResponse:
    store = request.store
    cfg = emission_services.emission_settings_for(store_id=store.pk)
    test_form, trial, test_error = _trial(request, cfg)
    rules = emission_services.rules_for(store_id=store.pk)
    return _render(
        request,
        "merchant/rules.html",
        {
            "active": "configuration",
            "rules": rules,
            "store_mode": EmissionMode(cfg.mode).label,
            "store_factura_directa": cfg.factura_directa,
            "form": form or RuleForm(),
            "test_form": test_form,
            "trial": trial,
            "test_error": test_error,
            "audit": selectors.audit_entries_for(store_id=store.pk).filter(what__startswith=AUDIT_PREFIX)[
                :10
            ],
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@merchant_required
def rules(request: HttpRequest) -> HttpResponse:
    """The list, the "Probar" form (GET) and "Agregar regla" (POST; a refused form keeps what was typed)."""
    if request.method == "GET":
        return _page(request)
    form = RuleForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    with transaction.atomic():
        rule = emission_services.rule_add(store_id=request.store.pk, values=form.cleaned_data)
        _audit(request, f"agregada la {rule.label}")
    messages.success(request, f"Regla agregada: {rule.label}")
    return redirect("merchant:rules")


@never_cache
@require_POST
@merchant_required
def rule_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Move one of the store's rules up or down, or remove it. Another store's rule is a 404; one removed
    meanwhile (another tab) is refused in Spanish. Nothing changes in either case."""
    store_id = request.store.pk
    store_object_or_404(request, EmissionRule, pk=pk)  # another store's id says nothing: a 404
    try:
        with transaction.atomic():
            if action == "eliminar":
                removed = emission_services.rule_remove(store_id=store_id, rule_id=pk)
                _audit(request, f"eliminada la {removed.label}")
                messages.success(request, f"Regla eliminada: {removed.label}")
            else:
                moved = emission_services.rule_move(store_id=store_id, rule_id=pk, up=action == "subir")
                if moved is None:
                    where = "primera" if action == "subir" else "última"
                    messages.info(request, f"Esa regla ya es la {where}: no se cambió el orden.")
                else:
                    rule, number = moved
                    text = f"«{rule.name or rule.summary}» pasó a ser la regla {number}"
                    _audit(request, text)
                    messages.success(request, f"Orden cambiado: {text}.")
    except EmissionRule.DoesNotExist:
        messages.error(
            request, "Esa regla ya no existe (quizás se eliminó en otra pestaña). No se cambió nada."
        )
    return redirect("merchant:rules")
