"""The merchant's total nota de crédito works whatever the order's status in Jumpseller."""

import pytest

from emission import services
from emission.models import Document, DocumentState
from integration.models import Store
from tests import flows

pytestmark = pytest.mark.django_db(transaction=True)


def test_total_nota_from_the_product_without_cancelling_in_jumpseller(sandbox, http, settings):
    settings.SANDBOX_OPENFACTURA_RATE_LIMIT = "off"
    flows.install(http, sandbox, "anula", "Tienda Anula")
    shop = Store.objects.get(code="anula")
    flows.create_order(http, sandbox, "anula", flows.example_order("afecta", id=9601))
    flows.pay(http, sandbox, "anula", 9601)
    boleta = Document.objects.get(store=shop, order_id=9601)

    nota = services.document_annul(store_id=shop.pk, document_id=boleta.pk)
    again = services.document_annul(store_id=shop.pk, document_id=boleta.pk)
    assert again.pk == nota.pk
    assert (nota.state, nota.tipo, nota.mnt_total) == (DocumentState.EMITTED, 61, boleta.mnt_total)
    assert [d["tipo"] for d in flows.openfactura_documents(http, sandbox)] == [39, 61]
    with pytest.raises(services.ActionRefused):
        services.document_annul(store_id=shop.pk, document_id=nota.pk)
