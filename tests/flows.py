"""Helpers that drive the product and its sandbox like a merchant's browser and Jumpseller would."""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import requests

from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "sandbox" / "examples"


class FormParser(HTMLParser):
    """Every form of a page with its action and named input values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


class BrowserForm(HTMLParser):
    """The fields of a page's first POST form as a browser submits them: checked boxes and radios only,
    the selected option, textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = self._done = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self._done and (attrs.get("method") or "").lower() == "post":
            self._in_form, self.action = True, attrs.get("action") or ""
        if not self._in_form or not attrs.get("name") and tag != "option":
            return
        name = attrs.get("name")
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields[name] = attrs.get("value") or "on"
            elif kind not in {"submit", "button"}:
                self.fields[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and ("selected" in attrs or self._select not in self.fields):
            self.fields[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def submit_form(http: requests.Session, url: str, **changes: str | None) -> requests.Response:
    """Open ``url``, submit its first POST form as a browser would, with ``changes`` (``None`` unchecks)."""
    from urllib.parse import urljoin

    page = http.get(url, timeout=10)
    assert page.status_code == 200, page.status_code
    form = BrowserForm()
    form.feed(page.text)
    assert form.action is not None, f"no POST form on {url}"
    fields = {**form.fields, **changes}
    data = {name: value for name, value in fields.items() if value is not None}
    return http.post(urljoin(page.url, form.action), data=data, headers={"Referer": page.url}, timeout=30)


def authorize(
    http: requests.Session, sandbox, *, store_code: str, decision: str = "allow", start: str = "/jumpseller/"
) -> requests.Response:
    """Open ``start`` (the App URL), land on the fake Jumpseller's consent form, submit it like a browser."""
    form_page = http.get(sandbox(start), timeout=10)
    assert form_page.status_code == 200
    assert form_page.url.startswith(sandbox("/sandbox/jumpseller/accounts/oauth/authorize"))
    assert "Autorizar" in form_page.text
    parser = FormParser()
    parser.feed(form_page.text)
    form = parser.forms[0 if decision == "allow" else 1]
    fields = {**form["fields"], "store": store_code, "decision": decision}
    return http.post(sandbox(form["action"]), data=fields, timeout=30)


def install(http: requests.Session, sandbox, code: str, name: str | None = None) -> None:
    """Create a store in the fake Jumpseller and install the app into it."""
    created = http.post(
        sandbox("/sandbox/jumpseller/stores"), json={"code": code, "name": name or code}, timeout=10
    )
    assert created.status_code == 201
    assert authorize(http, sandbox, store_code=code).url == sandbox("/app/primeros-pasos/")


def example_order(name: str, **changes) -> dict:
    """A ready example order of the sandbox (``sandbox/examples/<name>.json``), with top-level changes."""
    order = copy.deepcopy(json.loads(Path(EXAMPLES / f"{name}.json").read_text())["order"])
    order.update(changes)
    return order


def create_order(http: requests.Session, sandbox, code: str, order: dict) -> dict:
    response = http.post(
        sandbox(f"/sandbox/jumpseller/stores/{code}/orders"), json={"order": order}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["order"]


def pay(http: requests.Session, sandbox, code: str, order_id: int, deliveries: int = 1) -> list[dict]:
    response = http.post(
        sandbox(f"/sandbox/jumpseller/stores/{code}/orders/{order_id}/pay?deliveries={deliveries}"),
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def cancel(http: requests.Session, sandbox, code: str, order_id: int) -> list[dict]:
    response = http.post(sandbox(f"/sandbox/jumpseller/stores/{code}/orders/{order_id}/cancel"), timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def openfactura_documents(http: requests.Session, sandbox) -> list[dict]:
    return http.get(sandbox("/sandbox/openfactura/documents"), timeout=10).json()


def jumpseller_documents(http: requests.Session, sandbox, code: str, order_id: int) -> list[dict]:
    return http.get(
        sandbox(f"/sandbox/jumpseller/stores/{code}/orders/{order_id}/documents"), timeout=10
    ).json()


def mails(http: requests.Session, sandbox, to: str | None = None) -> list[dict]:
    return http.get(sandbox("/sandbox/mail"), params={"to": to} if to else None, timeout=10).json()


MERCHANT_ALERT_SUBJECT = "Acción requerida: "


def customer_mails(http: requests.Session, sandbox) -> list[dict]:
    """The sandbox inbox without the merchant's alert emails (issue 15, point 7)."""
    return [mail for mail in mails(http, sandbox) if not mail["subject"].startswith(MERCHANT_ALERT_SUBJECT)]


def merchant_alerts(http: requests.Session, sandbox) -> list[dict]:
    return [mail for mail in mails(http, sandbox) if mail["subject"].startswith(MERCHANT_ALERT_SUBJECT)]


def faults(http: requests.Session, sandbox, **values) -> None:
    if values:
        assert http.post(sandbox("/sandbox/openfactura/faults"), json=values, timeout=10).status_code == 200
    else:
        assert http.delete(sandbox("/sandbox/openfactura/faults"), timeout=10).status_code in (200, 204)


def installed_store(http: requests.Session, sandbox, settings, code: str, name: str):
    """Install the app into a new sandbox store (the fake OpenFactura's rate limit off) and return it."""
    from integration.models import Store

    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    install(http, sandbox, code, name)
    return Store.objects.get(code=code)


def configure(store, **fields) -> None:
    """Set the store's emission settings (created with their defaults first if needed)."""
    from emission.models import EmissionSettings
    from emission.services import emission_settings_for

    emission_settings_for(store_id=store.pk)
    EmissionSettings.objects.filter(store=store).update(**fields)


def live_store(http: requests.Session, sandbox, settings, code: str, name: str):
    """An installed store out of demo mode, on its own sandbox company (``sandbox-<code>``)."""
    store = installed_store(http, sandbox, settings, code, name)
    configure(store, demo_mode=False, api_key=f"sandbox-{code}", organization={})
    return store


def paid_boleta(http: requests.Session, sandbox, store, order_id: int):
    """Create and pay the taxed example order ``order_id`` in ``store``; its sale document (a boleta)."""
    from emission.models import Document

    create_order(http, sandbox, store.code, example_order("afecta", id=order_id))
    pay(http, sandbox, store.code, order_id)
    return Document.objects.get(store=store, order_id=order_id, kind="boleta")
