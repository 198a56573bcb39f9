"""Emission rules per customer (issue 17 §1): which mode, and whether factura directa, a paid order gets.

The store's mode (1–4) and its factura directa setting are the default; on top, an ordered list of
rules (``EmissionRule``), first match wins. A rule's conditions — all must hold, an empty one always
does — are the buyer's Jumpseller customer category, a company RUT given at checkout (the very check
factura directa uses: ``company_receptor``), the order total (``total ≥ total_min``, ``total <
total_max``, integer CLP) and the order's origin (``source.created_from``; values other than checkout,
pos, admin and api read as "otro").

The evaluation is pure (``order_facts``, ``rules_evaluate``, ``rules_explain``): no database, no API.
``emission_decision_for`` loads the store's rules and reads the customer's categories from Jumpseller
only when a rule asks for them, cached for ``EMISSION_RULES_CATEGORY_CACHE_SECONDS`` (default 300) and
through the store's client (its shared budget: when it is spent the emission task runs later, as for
the order read). A failed read never blocks the document: the rules with a category condition do not
match, and the reason is kept on the decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.formatting import format_clp
from emission.dte import DteRefusal, Receptor
from emission.models import EmissionMode, EmissionRule, EmissionSettings, OrderOrigin

logger = logging.getLogger(__name__)

STORE_MODE_LABEL = "Modo de la tienda"
CATEGORY_CACHE_SECONDS = 300
KNOWN_ORIGINS = {OrderOrigin.CHECKOUT, OrderOrigin.POS, OrderOrigin.ADMIN, OrderOrigin.API}
LINK_MODES = (EmissionMode.LINK_BOLETA_O_FACTURA, EmissionMode.LINK_SOLO_BOLETA)


# --- Pure evaluation ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A rule as the evaluation reads it (a snapshot of ``EmissionRule``)."""

    mode: int
    factura_directa: bool = False
    customer_category: str = ""
    company_rut: bool = False
    total_min: int | None = None
    total_max: int | None = None
    origin: str = ""
    name: str = ""
    position: int = 0
    pk: int | None = None

    @property
    def needs_category(self) -> bool:
        return bool(self.customer_category.strip())

    @property
    def conditions(self) -> list[str]:
        """Each condition in Spanish, in a fixed order."""
        parts = []
        if self.needs_category:
            parts.append(f"la categoría del cliente es «{self.customer_category.strip()}»")
        if self.company_rut:
            parts.append("el cliente ingresó RUT de empresa")
        if self.total_min is not None:
            parts.append(f"el total es {format_clp(self.total_min)} o más")
        if self.total_max is not None:
            parts.append(f"el total es menor a {format_clp(self.total_max)}")
        if self.origin:
            parts.append(f"el origen es {OrderOrigin(self.origin).label}")
        return parts

    @property
    def outcome(self) -> str:
        text = f"Modo {self.mode}"
        return f"{text}, factura directa" if self.factura_directa else text

    @property
    def summary(self) -> str:
        """ "Si la categoría del cliente es «Mayoristas» → Modo 2, factura directa"."""
        conditions = self.conditions
        when = "Si " + " y ".join(conditions) if conditions else "Todos los pedidos"
        return f"{when} → {self.outcome}"

    @property
    def label(self) -> str:
        """What a document records: "Regla 1 «Mayoristas» — Si … → …"."""
        name = f" «{self.name}»" if self.name else ""
        return f"Regla {self.position}{name} — {self.summary}"[:300]

    @classmethod
    def of(cls, row: EmissionRule) -> Rule:
        return cls(
            mode=row.mode,
            factura_directa=row.factura_directa,
            customer_category=row.customer_category,
            company_rut=row.company_rut,
            total_min=row.total_min,
            total_max=row.total_max,
            origin=row.origin,
            name=row.name,
            position=row.position,
            pk=row.pk,
        )


@dataclass(frozen=True)
class OrderFacts:
    """What the rules look at in one order. ``categories`` is None when they were not read (no rule
    needed them, or the read failed: ``category_error`` says why)."""

    total: int
    origin: str
    company: bool
    categories: frozenset[str] | None = None
    category_error: str = ""


@dataclass(frozen=True)
class Decision:
    """The path of one order: the mode, factura directa, the rule that chose them (None: the store's
    settings) and what the document records."""

    mode: int
    factura_directa: bool
    rule: Rule | None = None
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.rule.label if self.rule else STORE_MODE_LABEL

    @property
    def note(self) -> str:
        return " ".join(self.notes)[:300]

    @property
    def link_only(self) -> bool:
        return self.mode in LINK_MODES


@dataclass(frozen=True)
class RuleCheck:
    """One rule against one order, for "Probar": whether it matches and, if not, why not."""

    rule: Rule
    matched: bool
    reasons: list[str] = field(default_factory=list)


def company_receptor(order: dict[str, Any]) -> Receptor | None:
    """The company the customer named at checkout (factura directa, and the "RUT de empresa" condition):
    a RUT with a razón social (``billing_information.company_name``). A RUT alone is a person's (many
    Chilean checkouts ask every buyer for one) and gets none. The engine checks the rest when it builds
    the factura: a wrong check digit or a missing giro stops it in "requiere revisión", where the
    merchant corrects the buyer ("Corregir datos del receptor")."""
    try:
        receptor = Receptor.from_order({"order": order})
    except DteRefusal:
        return None
    return receptor if receptor.rut and receptor.razon_social else None


def order_total(order: dict[str, Any]) -> int:
    """``order.total`` in whole pesos (half up); 0 when missing or unreadable."""
    try:
        value = Decimal(str(order.get("total") if order.get("total") is not None else 0))
    except InvalidOperation:
        return 0
    if not value.is_finite():
        return 0
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def order_origin(order: dict[str, Any]) -> str:
    """``source.created_from`` as one of the rule origins; anything else is "otro"."""
    source = order.get("source") if isinstance(order.get("source"), dict) else {}
    value = str(source.get("created_from") or "").strip().lower()
    return value if value in KNOWN_ORIGINS else OrderOrigin.OTRO.value


def category_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def order_facts(
    order: dict[str, Any], *, categories: Iterable[str] | None = None, category_error: str = ""
) -> OrderFacts:
    return OrderFacts(
        total=order_total(order),
        origin=order_origin(order),
        company=company_receptor(order) is not None,
        categories=None if categories is None else frozenset(category_key(name) for name in categories),
        category_error=category_error,
    )


def rule_check(rule: Rule, facts: OrderFacts) -> RuleCheck:
    """Every condition of ``rule`` against ``facts``; the reasons name each one that fails."""
    reasons = []
    if rule.needs_category:
        if facts.categories is None:
            reasons.append(facts.category_error or "no se leyó la categoría del cliente")
        elif category_key(rule.customer_category) not in facts.categories:
            reasons.append(f"el cliente no está en la categoría «{rule.customer_category.strip()}»")
    if rule.company_rut and not facts.company:
        reasons.append("el cliente no ingresó RUT de empresa")
    if rule.total_min is not None and facts.total < rule.total_min:
        reasons.append(f"el total ({format_clp(facts.total)}) es menor a {format_clp(rule.total_min)}")
    if rule.total_max is not None and facts.total >= rule.total_max:
        reasons.append(f"el total ({format_clp(facts.total)}) no es menor a {format_clp(rule.total_max)}")
    if rule.origin and facts.origin != rule.origin:
        reasons.append(f"el origen es {OrderOrigin(facts.origin).label}")
    return RuleCheck(rule=rule, matched=not reasons, reasons=reasons)


def rules_explain(rules: Sequence[Rule], facts: OrderFacts) -> list[RuleCheck]:
    return [rule_check(rule, facts) for rule in rules]


def rules_evaluate(
    rules: Sequence[Rule], facts: OrderFacts, *, default_mode: int, default_factura_directa: bool
) -> Decision:
    """The first rule that matches, in order; none → the store's mode and factura directa. A category
    rule skipped because the category could not be read leaves its reason in ``notes``."""
    notes: list[str] = []
    for check in rules_explain(rules, facts):
        if check.matched:
            return Decision(check.rule.mode, check.rule.factura_directa, check.rule, tuple(notes))
        if check.rule.needs_category and facts.categories is None and facts.category_error:
            note = f"Regla {check.rule.position} no aplicada: {facts.category_error}."
            if note not in notes:
                notes.append(note)
    return Decision(default_mode, default_factura_directa, None, tuple(notes))


def rules_need_category(rules: Sequence[Rule]) -> bool:
    return any(rule.needs_category for rule in rules)


def decision_outcome(decision: Decision, facts: OrderFacts) -> str:
    """What the order gets under ``decision``, as the merchant reads it ("Probar")."""
    mode = EmissionMode(decision.mode)
    if decision.link_only:
        return f"Ningún documento al pagar: el cliente recibe el enlace para emitirlo ({mode.label})."
    if decision.factura_directa and facts.company:
        return "Factura electrónica al pagar (factura directa: el cliente ingresó datos de empresa)."
    link = (
        "con enlace para cambiarla por factura"
        if mode == EmissionMode.BOLETA_CONVERTIBLE
        else "sin enlace para cambiarla por factura"
    )
    text = f"Boleta electrónica al pagar, {link} ({mode.label})."
    if decision.factura_directa:
        text += " Factura directa no aplica: el cliente no ingresó datos de empresa completos."
    return text


# --- The store's rules and the customer's categories -------------------------------------------------
def rules_for(*, store_id: int) -> list[Rule]:
    """The store's rules, first to last, numbered 1…n as the page shows them."""
    rows = EmissionRule.objects.filter(store_id=store_id).order_by("position", "pk")
    return [replace(Rule.of(row), position=number) for number, row in enumerate(rows, start=1)]


def _category_cache_seconds() -> int:
    return int(getattr(settings, "EMISSION_RULES_CATEGORY_CACHE_SECONDS", CATEGORY_CACHE_SECONDS))


def _category_cache_key(store_id: int, customer_id: int) -> str:
    return f"emission:customer-categories:{store_id}:{customer_id}"


def _customer_id(order: dict[str, Any]) -> int | None:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    raw = str(customer.get("id") or "").strip()  # an integer, or "123" in the webhook example [D §3.3]
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _read_error(exc: Exception) -> str:
    from integration.client import JumpsellerForbidden, JumpsellerRateLimited

    if isinstance(exc, JumpsellerForbidden):
        return (
            "Jumpseller no dio permiso para leer los clientes (permiso read_customers): reconecta la "
            "aplicación para otorgarlo"
        )
    if isinstance(exc, JumpsellerRateLimited):
        return "no se pudo leer la categoría del cliente: el límite de consultas a Jumpseller estaba agotado"
    return "no se pudo leer la categoría del cliente en Jumpseller"


def customer_categories_for(
    *, store_id: int, order: dict[str, Any], client, defer_on_budget: bool = False
) -> tuple[list[str] | None, str]:
    """The categories of the order's customer (names) and "" — or None and why they are unknown.

    A guest order (no customer id) has none, without asking. Otherwise the store's cached copy, else
    one ``GET /customers/{id}.json`` through ``client`` (the store's budget); only answers are cached.
    ``defer_on_budget``: a spent budget raises ``JumpsellerRateLimited`` (the emission task runs again
    later, as when the order read meets it) instead of giving up on the category."""
    from integration.client import (
        JumpsellerError,
        JumpsellerNotFound,
        JumpsellerRateLimited,
        customer_category_names,
    )

    customer_id = _customer_id(order)
    if customer_id is None:
        return [], ""
    key = _category_cache_key(store_id, customer_id)
    cached = cache.get(key)
    if cached is not None:
        return list(cached), ""
    try:
        names = customer_category_names(client.get_customer(customer_id))
    except JumpsellerNotFound:
        names = []  # the customer was deleted: in no category
    except JumpsellerRateLimited:
        if defer_on_budget:
            raise
        logger.warning("store %s: customer %s not read (budget spent)", store_id, customer_id)
        return None, _read_error(JumpsellerRateLimited("", retry_after=0))
    except JumpsellerError as exc:
        logger.warning("store %s: customer %s not read (%s)", store_id, customer_id, exc.message)
        return None, _read_error(exc)
    seconds = _category_cache_seconds()
    if seconds > 0:
        cache.set(key, names, seconds)
    return names, ""


def emission_decision_for(*, store_id: int, order: dict[str, Any], cfg: EmissionSettings, client) -> Decision:
    """The path of a paid order under the store's rules (its mode and factura directa otherwise).
    ``client`` is the store's Jumpseller client, used only when a rule needs the customer's category; a
    spent budget raises ``JumpsellerRateLimited`` (the caller's task runs later), any other failure
    leaves the category rules unmatched with the reason in ``Decision.note``."""
    rules = rules_for(store_id=store_id)
    categories, error = (None, "")
    if rules_need_category(rules):
        categories, error = customer_categories_for(
            store_id=store_id, order=order, client=client, defer_on_budget=True
        )
    facts = order_facts(order, categories=categories, category_error=error)
    return rules_evaluate(rules, facts, default_mode=cfg.mode, default_factura_directa=cfg.factura_directa)


@dataclass(frozen=True)
class RuleTrial:
    """ "Probar" with a past order: the order as read now, what the rules decide and why."""

    order: dict[str, Any]
    facts: OrderFacts
    decision: Decision
    checks: list[RuleCheck]

    @property
    def outcome(self) -> str:
        return decision_outcome(self.decision, self.facts)

    @property
    def origin_label(self) -> str:
        return OrderOrigin(self.facts.origin).label


def rules_try(*, store_id: int, order_id: int, cfg: EmissionSettings) -> RuleTrial:
    """Read ``order_id`` from Jumpseller (raises ``JumpsellerNotFound``, ``JumpsellerError``,
    ``StoreDisconnected``) and evaluate the store's rules on it, nothing stored or sent."""
    from integration.services import jumpseller_client_for

    with jumpseller_client_for(store_id) as client:
        order = client.get_order(order_id)
        rules = rules_for(store_id=store_id)
        categories, error = (None, "")
        if rules_need_category(rules):
            categories, error = customer_categories_for(store_id=store_id, order=order, client=client)
    facts = order_facts(order, categories=categories, category_error=error)
    decision = rules_evaluate(
        rules, facts, default_mode=cfg.mode, default_factura_directa=cfg.factura_directa
    )
    return RuleTrial(order=order, facts=facts, decision=decision, checks=rules_explain(rules, facts))


# --- The merchant's changes (the page audits them) ---------------------------------------------------
RULE_FIELDS = (
    "name",
    "customer_category",
    "company_rut",
    "total_min",
    "total_max",
    "origin",
    "mode",
    "factura_directa",
)


def _renumber(store_id: int) -> list[EmissionRule]:
    rows = list(EmissionRule.objects.select_for_update().filter(store_id=store_id).order_by("position", "pk"))
    for number, row in enumerate(rows, start=1):
        if row.position != number:
            row.position = number
            row.save(update_fields=["position"])
    return rows


def rule_add(*, store_id: int, values: dict[str, Any]) -> Rule:
    """Append a rule (last: the existing ones keep their priority); returns it as the page numbers it."""
    with transaction.atomic():
        rows = _renumber(store_id)
        row = EmissionRule.objects.create(
            store_id=store_id, position=len(rows) + 1, **{key: values[key] for key in RULE_FIELDS}
        )
    return Rule.of(row)


def rule_move(*, store_id: int, rule_id: int, up: bool) -> tuple[Rule, int] | None:
    """Swap a rule with the one above (``up``) or below; returns it and its new number, or None when
    it is already first/last. Raises ``EmissionRule.DoesNotExist`` for another store's rule."""
    with transaction.atomic():
        rows = _renumber(store_id)
        index = next((i for i, row in enumerate(rows) if row.pk == rule_id), None)
        if index is None:
            raise EmissionRule.DoesNotExist
        other = index - 1 if up else index + 1
        if other < 0 or other >= len(rows):
            return None
        row, neighbour = rows[index], rows[other]
        row.position, neighbour.position = neighbour.position, row.position
        row.save(update_fields=["position"])
        neighbour.save(update_fields=["position"])
    return Rule.of(row), row.position


def rule_remove(*, store_id: int, rule_id: int) -> Rule:
    """Delete a rule (another store's is ``EmissionRule.DoesNotExist``); the rest are renumbered."""
    with transaction.atomic():
        rows = _renumber(store_id)
        row = next((row for row in rows if row.pk == rule_id), None)
        if row is None:
            raise EmissionRule.DoesNotExist
        removed = Rule.of(row)
        row.delete()
        _renumber(store_id)
    return removed
