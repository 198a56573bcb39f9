"""Document text shown to people: the CSV export defuses formulas, pages and emails escape angle brackets.

Text between angle brackets is data on a DTE (dte-semantics.md §4 "Text"): ``Comercializadora <El Roble>
S.A.`` reaches the document whole, so every place that shows it must escape it.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core import mail
from django.utils import timezone

from emission.models import EmissionMode, EmissionSettings
from emission.services.delivery import document_email_customer

from .conftest import make_document

pytestmark = pytest.mark.django_db

EL_ROBLE = "Comercializadora <El Roble> S.A."
CUSTOMER_COLUMN = 6


def _csv_customer_cell(merchant, store, customer_name: str) -> str:
    make_document(store, customer_name=customer_name)
    response = merchant.get("/app/documentos/", {"formato": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][CUSTOMER_COLUMN] == "cliente" and len(rows) == 2
    return rows[1][CUSTOMER_COLUMN]


@pytest.mark.parametrize(
    "prefix",
    [
        "=",
        "+",
        "-",
        "@",
        "\t",
        "\r",
        " ",
        "\n",
        "\ufeff",  # byte order mark
        "\uff1d",  # ＝ full-width equals
        "\uff0b",  # ＋ full-width plus
        "\uff0d",  # － full-width hyphen-minus
        "\uff20",  # ＠ full-width commercial at
    ],
)
def test_a_cell_a_spreadsheet_could_run_is_defused(merchant, store, prefix):
    value = f'{prefix}HYPERLINK("https://evil.example","x")'
    assert _csv_customer_cell(merchant, store, value) == f"'{value}"


@pytest.mark.parametrize("value", ["Ana Pérez", EL_ROBLE, "'ya citado", "Ñuñoa 1=1", ""])
def test_other_cells_are_left_as_they_are(merchant, store, value):
    assert _csv_customer_cell(merchant, store, value) == value


def test_the_document_page_and_the_customer_email_escape_angle_brackets(merchant, store):
    document = make_document(
        store,
        kind="factura",
        purpose="factura",
        tipo=33,
        state="emitted",
        token="tok-1",
        folio=4521,
        mnt_neto=10076,
        iva=1914,
        mnt_total=11990,
        emitted_at=timezone.now(),
        demo=False,
        customer_name=EL_ROBLE,
        pdf=b"%PDF-1.4 test",
        receptor={"RUTRecep": "76430498-5", "RznSocRecep": EL_ROBLE},
        request_json=json.dumps(
            {
                "dte": {
                    "Detalle": [
                        {"NmbItem": "Polera <XL>", "QtyItem": 1, "PrcItem": 10076, "MontoItem": 10076}
                    ]
                }
            }
        ),
    )
    page = merchant.get(f"/app/documentos/{document.pk}/").content.decode()
    assert "Comercializadora &lt;El Roble&gt; S.A." in page and "Polera &lt;XL&gt;" in page
    assert "<El Roble>" not in page and "<XL>" not in page

    cfg = EmissionSettings.objects.create(store=store, mode=EmissionMode.BOLETA)
    mail.outbox.clear()
    assert document_email_customer(document=document, cfg=cfg) is True
    (message,) = mail.outbox
    body_html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    assert "Comercializadora &lt;El Roble&gt; S.A." in body_html and "<El Roble>" not in body_html
    assert EL_ROBLE in message.body  # the plain-text part shows the text itself
