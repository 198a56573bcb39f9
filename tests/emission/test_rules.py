"""Emission rules per customer (issue 17 §1): the pure evaluation, each condition, order and defaults,
and the customer-category read (only when needed, cached, failures recorded)."""

from __future__ import annotations

import pytest

from emission.models import EmissionMode
from emission.services.rules import (
    STORE_MODE_LABEL,
    Rule,
    decision_outcome,
    order_facts,
    order_origin,
    order_total,
    rule_check,
    rules_evaluate,
)
from tests.flows import example_order

DEFAULTS = {"default_mode": EmissionMode.BOLETA_CONVERTIBLE, "default_factura_directa": False}

MAYORISTAS = Rule(mode=2, factura_directa=True, customer_category="Mayoristas", position=1, name="Mayoristas")
POS = Rule(mode=1, origin="pos", position=2)


def web_order(**changes) -> dict:
    return example_order("afecta", **changes)


def company_order(**changes) -> dict:
    return example_order("empresa", **changes)


def evaluate(rules, order, categories=None, error=""):
    return rules_evaluate(rules, order_facts(order, categories=categories, category_error=error), **DEFAULTS)


# --- Facts read from the order ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "created_from, origin",
    [
        ("checkout", "checkout"),
        ("pos", "pos"),
        ("POS", "pos"),
        ("admin", "admin"),
        ("api", "api"),
        ("duplicate", "otro"),  # jumpseller-api.md §4.1 lists it; not one of the four origins
        ("recovery", "otro"),
        ("kiosko-nuevo", "otro"),  # an unknown value
        (None, "otro"),
    ],
)
def test_origin_reads_created_from_and_unknown_values_are_otro(created_from, origin):
    assert order_origin(web_order(source={"created_from": created_from})) == origin


def test_origin_without_source_is_otro():
    order = web_order()
    del order["source"]
    assert order_origin(order) == "otro"


@pytest.mark.parametrize(
    "total, pesos", [(92950, 92950), ("10000.5", 10001), (19999.4, 19999), (None, 0), ("x", 0)]
)
def test_total_is_whole_pesos_half_up(total, pesos):
    assert order_total(web_order(total=total)) == pesos


def test_company_rut_uses_the_factura_directa_detection():
    from emission.services.orders import _factura_receptor

    assert order_facts(company_order()).company is True
    assert _factura_receptor(company_order()) is not None
    # A person's RUT without a razón social is no company (for factura directa neither).
    assert order_facts(web_order()).company is False
    assert _factura_receptor(web_order()) is None
    # A company with a mistyped RUT still is one: its factura goes to review, where the merchant fixes it.
    mistyped = company_order(billing_address={**company_order()["billing_address"], "taxid": "76.543.210-9"})
    assert order_facts(mistyped).company is True


# --- Each condition -------------------------------------------------------------------------------------
def test_category_condition_is_case_and_space_insensitive():
    rule = Rule(mode=1, customer_category="Mayoristas", position=1)
    assert rule_check(rule, order_facts(web_order(), categories=["  mayoristas "])).matched
    assert rule_check(rule, order_facts(web_order(), categories=["VIP", "MAYORISTAS"])).matched
    check = rule_check(rule, order_facts(web_order(), categories=["VIP"]))
    assert not check.matched
    assert check.reasons == ["el cliente no está en la categoría «Mayoristas»"]


def test_company_condition():
    rule = Rule(mode=1, company_rut=True, position=1)
    assert rule_check(rule, order_facts(company_order())).matched
    assert rule_check(rule, order_facts(web_order())).reasons == ["el cliente no ingresó RUT de empresa"]


def test_total_from_is_inclusive_and_below_is_exclusive():
    rule = Rule(mode=1, total_min=50_000, total_max=100_000, position=1)
    assert not rule_check(rule, order_facts(web_order(total=49_999))).matched
    assert rule_check(rule, order_facts(web_order(total=50_000))).matched
    assert rule_check(rule, order_facts(web_order(total=99_999))).matched
    check = rule_check(rule, order_facts(web_order(total=100_000)))
    assert check.reasons == ["el total ($100.000) no es menor a $100.000"]


def test_origin_condition():
    rule = Rule(mode=1, origin="pos", position=1)
    assert rule_check(rule, order_facts(web_order(source={"created_from": "pos"}))).matched
    assert not rule_check(rule, order_facts(web_order(source={"created_from": "checkout"}))).matched
    otro = Rule(mode=1, origin="otro", position=1)
    assert rule_check(otro, order_facts(web_order(source={"created_from": "recovery"}))).matched


def test_all_conditions_must_hold():
    rule = Rule(mode=1, company_rut=True, origin="pos", total_min=10_000, position=1)
    pos_company = company_order(source={"created_from": "pos"})
    assert rule_check(rule, order_facts(pos_company)).matched
    assert not rule_check(rule, order_facts(company_order())).matched  # checkout
    assert not rule_check(rule, order_facts(web_order(source={"created_from": "pos"}))).matched  # no RUT
    check = rule_check(rule, order_facts({**pos_company, "total": 5000}))
    assert check.reasons == ["el total ($5.000) es menor a $10.000"]


# --- Order, first match, defaults ---------------------------------------------------------------------
def test_the_issue_example_first_match_wins():
    rules = [MAYORISTAS, POS]
    wholesale_at_pos = company_order(source={"created_from": "pos"})
    decision = evaluate(rules, wholesale_at_pos, categories=["Mayoristas"])
    assert (decision.mode, decision.factura_directa, decision.rule) == (2, True, MAYORISTAS)
    assert (
        decision.label
        == "Regla 1 «Mayoristas» — Si la categoría del cliente es «Mayoristas» → Modo 2, factura directa"
    )

    pos = evaluate(rules, web_order(source={"created_from": "pos"}), categories=[])
    assert (pos.mode, pos.factura_directa, pos.rule) == (1, False, POS)
    assert pos.label == "Regla 2 — Si el origen es Punto de venta (POS) → Modo 1"

    web = evaluate(rules, web_order(), categories=[])
    assert (web.mode, web.factura_directa, web.rule, web.label) == (2, False, None, STORE_MODE_LABEL)


def test_order_of_rules_decides():
    first, second = Rule(mode=1, origin="pos", position=1), Rule(mode=4, origin="pos", position=2)
    order = web_order(source={"created_from": "pos"})
    assert evaluate([first, second], order).mode == 1
    assert evaluate([second, first], order).mode == 4


def test_no_rules_is_the_store_mode_and_its_factura_directa():
    decision = rules_evaluate(
        [], order_facts(company_order()), default_mode=EmissionMode.BOLETA, default_factura_directa=True
    )
    assert (decision.mode, decision.factura_directa, decision.rule, decision.label) == (
        1,
        True,
        None,
        STORE_MODE_LABEL,
    )


def test_unreadable_category_skips_the_rule_and_says_why():
    decision = evaluate([MAYORISTAS, POS], web_order(), categories=None, error="Jumpseller no respondió")
    assert decision.rule is None and decision.mode == 2
    assert decision.note == "Regla 1 no aplicada: Jumpseller no respondió."
    # A later rule still matches.
    pos = evaluate([MAYORISTAS, POS], web_order(source={"created_from": "pos"}), error="sin permiso")
    assert pos.rule == POS and "Regla 1 no aplicada: sin permiso." in pos.note


def test_outcome_says_what_is_issued():
    facts_company = order_facts(company_order())
    facts_web = order_facts(web_order())
    assert decision_outcome(
        evaluate([MAYORISTAS], company_order(), ["Mayoristas"]), facts_company
    ).startswith("Factura electrónica")
    mode1 = evaluate([POS], web_order(source={"created_from": "pos"}))
    assert "sin enlace" in decision_outcome(mode1, facts_web)
    assert "con enlace" in decision_outcome(evaluate([], web_order()), facts_web)
    link = rules_evaluate([], facts_web, default_mode=3, default_factura_directa=False)
    assert decision_outcome(link, facts_web).startswith("Ningún documento al pagar")


# --- The customer's categories: only when needed, cached, failures recorded ----------------------------
class FakeClient:
    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def get_customer(self, customer_id):
        self.calls.append(customer_id)
        if self.error:
            raise self.error
        return self.answer


@pytest.fixture
def rules_store(db):
    from django.core.cache import cache

    from tests.integration.conftest import make_store

    cache.clear()
    yield make_store(code="tienda-reglas")
    cache.clear()


def _add(store, **values):
    from emission.services import rule_add

    base = {
        "name": "",
        "customer_category": "",
        "company_rut": False,
        "total_min": None,
        "total_max": None,
        "origin": "",
        "mode": 1,
        "factura_directa": False,
    }
    return rule_add(store_id=store.pk, values={**base, **values})


def test_category_is_read_only_when_a_rule_needs_it_and_then_cached(rules_store):
    from emission.services import emission_decision_for, emission_settings_for

    cfg = emission_settings_for(store_id=rules_store.pk)
    order = company_order()  # customer.id 505
    client = FakeClient(answer={"id": 505, "customer_categories": [{"id": 1, "name": "Mayoristas"}]})
    _add(rules_store, origin="pos", mode=1)
    assert emission_decision_for(store_id=rules_store.pk, order=order, cfg=cfg, client=client).rule is None
    assert client.calls == []  # no rule asks for the category: Jumpseller is not asked

    _add(rules_store, customer_category="Mayoristas", mode=2, factura_directa=True)
    for _ in range(3):
        decision = emission_decision_for(store_id=rules_store.pk, order=order, cfg=cfg, client=client)
        assert decision.rule.position == 2 and decision.factura_directa
    assert client.calls == [505]  # read once, then from the cache


def test_guest_orders_have_no_category_and_ask_nothing(rules_store):
    from emission.services import emission_decision_for, emission_settings_for

    cfg = emission_settings_for(store_id=rules_store.pk)
    _add(rules_store, customer_category="Mayoristas", mode=1)
    client = FakeClient(answer={})
    order = web_order(customer={"email": "invitado@example.cl"})
    decision = emission_decision_for(store_id=rules_store.pk, order=order, cfg=cfg, client=client)
    assert decision.rule is None and decision.note == "" and client.calls == []


@pytest.mark.parametrize(
    "error, text",
    [
        ("forbidden", "permiso read_customers"),
        ("down", "no se pudo leer la categoría del cliente en Jumpseller"),
    ],
)
def test_failed_category_read_does_not_match_and_is_not_cached(rules_store, error, text):
    from emission.services import emission_decision_for, emission_settings_for
    from integration.client import JumpsellerForbidden, JumpsellerRateLimited, JumpsellerUnavailable

    errors = {
        "forbidden": JumpsellerForbidden("Forbidden", status=403),
        "rate": JumpsellerRateLimited("Too Many Requests", retry_after=1.0),
        "down": JumpsellerUnavailable("HTTP 503", status=503),
    }
    cfg = emission_settings_for(store_id=rules_store.pk)
    _add(rules_store, customer_category="Mayoristas", mode=1)
    failing = FakeClient(error=errors[error])
    decision = emission_decision_for(store_id=rules_store.pk, order=company_order(), cfg=cfg, client=failing)
    assert decision.rule is None and decision.mode == cfg.mode
    assert decision.note.startswith("Regla 1 no aplicada:") and text in decision.note
    working = FakeClient(answer={"customer_categories": [{"name": "Mayoristas"}]})
    again = emission_decision_for(store_id=rules_store.pk, order=company_order(), cfg=cfg, client=working)
    assert again.rule is not None and working.calls == [505]  # the failure was not cached


def test_client_reads_the_customer_and_its_category_names():
    import responses

    from integration.client import JumpsellerClient, customer_category_names

    with responses.RequestsMock() as mocked:
        mocked.get(
            "https://api.test/v1/customers/505.json",
            json={
                "customer": {"id": 505, "customer_categories": [{"id": 3, "name": "Mayoristas"}, {"id": 4}]}
            },
        )
        customer = JumpsellerClient(base_url="https://api.test/v1", access_token="t").get_customer(505)
    assert customer_category_names(customer) == ["Mayoristas"]
    assert customer_category_names({"customer_categories": ["VIP", " "]}) == ["VIP"]
    assert customer_category_names({}) == []


def test_a_spent_budget_defers_the_emission_instead_of_skipping_the_rule(rules_store):
    """The emission task meets ``JumpsellerRateLimited`` as for the order read (it runs again later);
    "Probar" (a page) says why instead."""
    from emission.services import emission_decision_for, emission_settings_for
    from emission.services.rules import customer_categories_for
    from integration.client import JumpsellerRateLimited

    cfg = emission_settings_for(store_id=rules_store.pk)
    _add(rules_store, customer_category="Mayoristas", mode=1)
    spent = FakeClient(error=JumpsellerRateLimited("Too Many Requests", retry_after=2.0))
    with pytest.raises(JumpsellerRateLimited):
        emission_decision_for(store_id=rules_store.pk, order=company_order(), cfg=cfg, client=spent)
    names, why = customer_categories_for(store_id=rules_store.pk, order=company_order(), client=spent)
    assert names is None and "límite de consultas a Jumpseller" in why
