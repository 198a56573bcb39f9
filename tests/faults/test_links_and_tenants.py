"""Fault injection at the trust boundaries (issue 9).

* Tampered and expired self-service links: every tampering of a valid link (each character position of
  the token changed, tokens cut short, signed with another salt, for another store or order), POSTed
  with a valid CSRF token taken from the real page, is a 404; an expired link's POST is a 410. Nothing
  reaches OpenFactura, no document row appears.
* Tenant isolation sweep: a merchant session of store B requests every merchant URL that takes an id
  (found from the URL map, so new ones are swept too), by GET and by POST with a valid CSRF token, with
  the ids of store A's documents in every state → 404 for the method the view serves (405 for the
  other, whatever the id), and A's documents are untouched.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from emission.models import Document, DocumentState
from tests import flows
from tests.integration.conftest import make_store, merchant_client
from tests.merchant.conftest import csrf_token, make_document
from tests.selfservice.test_selfservice_pages import TAXPAYER, link, paid_order, shop, tipos  # noqa: F401

pytestmark = pytest.mark.faults


def _form_token(http, url: str) -> str:
    parser = flows.FormParser()
    parser.feed(http.get(url, timeout=30).text)
    return parser.forms[0]["fields"]["csrfmiddlewaretoken"]


def _tamperings(url: str) -> list[str]:
    prefix, token = url.rstrip("/").rsplit("/", 1)
    swap = {c: ("B" if c == "A" else "A") for c in set(token)}
    changed = [token[:i] + swap[token[i]] + token[i + 1 :] for i in range(len(token))]
    cut = [token[: len(token) // 2], token[:-1], token.split(":")[0], ""]
    return [f"{prefix}/{t}/" for t in changed + cut if t]


@pytest.mark.django_db(transaction=True)
def test_tampered_and_expired_links_issue_nothing(sandbox, http, shop):  # noqa: F811
    paid_order(http, sandbox, 8101)
    paid_order(http, sandbox, 8102)
    assert tipos(http, sandbox) == [39, 39]
    good = link(shop, 8101)
    csrf = _form_token(http, good)  # a real page's token: the POSTs below pass the CSRF check
    other = make_store(code="otra-tienda", name="Otra")
    bad_links = [
        *_tamperings(good),
        sandbox(
            "/documento/" + signing.dumps({"s": shop.pk, "o": 8101}, salt="otra-sal", compress=True) + "/"
        ),
        link(other, 8101),  # signed for another store
        link(shop, 999_999),  # signed, but no such order
    ]
    assert len(bad_links) > 50
    for url in bad_links:
        for documento in ("factura", "boleta"):
            response = http.post(
                url,
                data={"csrfmiddlewaretoken": csrf, "documento": documento, **TAXPAYER},
                headers={"Referer": good},
                timeout=30,
            )
            assert response.status_code == 404, url
            assert "Enlace no válido" in response.text

    expired = link(shop, 8102)
    csrf = _form_token(http, expired)
    boleta = Document.objects.get(store=shop, order_id=8102)
    Document.objects.filter(pk=boleta.pk).update(fecha_emision=timezone.localdate() - timedelta(days=70))
    response = http.post(
        expired,
        data={"csrfmiddlewaretoken": csrf, "documento": "factura", **TAXPAYER},
        headers={"Referer": expired},
        timeout=30,
    )
    assert response.status_code == 410 and "Enlace vencido" in response.text

    assert tipos(http, sandbox) == [39, 39]  # nothing more reached OpenFactura
    assert Document.objects.count() == 2


def _id_urls() -> list[str]:
    """Every merchant URL pattern that takes a document id, as a template with ``{pk}``."""
    urls = []
    for pattern in get_resolver("merchant.urls").url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "<int:pk>" in route:
            urls.append("/app/" + route.replace("<int:pk>", "{pk}"))
    return urls


@pytest.mark.django_db
def test_a_session_of_store_b_gets_404_for_every_url_with_store_a_s_ids(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    store_a = make_store(code="tienda-a", name="Tienda A")
    store_b = make_store(code="tienda-b", name="Tienda B")
    documents = [
        make_document(store_a, state=state, token=f"tok-{state}", folio=n + 1, mnt_total=1190)
        for n, state in enumerate(DocumentState.values)
    ]
    before = list(Document.objects.order_by("pk").values())
    browser_b = merchant_client(store_b)
    csrf = csrf_token(browser_b.get("/app/documentos/"))
    urls = _id_urls()
    assert len(urls) >= 6  # detail, pdf, retry, resend, nota de crédito, partial nota
    checked = 0
    for template in urls:
        for document in documents:
            url = template.format(pk=document.pk)
            get = browser_b.get(url).status_code
            post = browser_b.post(
                url, {"csrfmiddlewaretoken": csrf, "lineas": "1", "motivo": "x"}
            ).status_code
            # The method the view serves is a 404; the other one is a 405 whatever the id (it says
            # nothing about A's documents). Never a page, a redirect or an error.
            assert 404 in (get, post) and {get, post} <= {404, 405}, (url, get, post)
            checked += 2
    assert list(Document.objects.order_by("pk").values()) == before  # store A untouched
    assert "tok-" not in browser_b.get("/app/documentos/").content.decode()
    print(f"tenant sweep: {checked} requests, all 404")
