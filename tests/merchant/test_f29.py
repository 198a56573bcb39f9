"""Resumen para tu F29 (issue 17 §2): a month with every type, each figure checked against values computed
by hand here; the CSV; the month picker (Chile's month by default) and the menu."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest

from emission.models import DocumentState
from merchant.f29 import month_summary
from tests.merchant.conftest import make_document

pytestmark = pytest.mark.django_db


def _emitted(store, tipo: int, folio: int, day: str, *, neto=0, exe=0, iva=0, total=0, **fields):
    kind = {39: "boleta", 41: "boleta", 33: "factura", 34: "factura", 61: "nota_credito"}[tipo]
    return make_document(
        store,
        kind=kind,
        purpose=fields.pop("purpose", kind),
        tipo=tipo,
        folio=folio,
        state=DocumentState.EMITTED,
        demo=fields.pop("demo", False),
        token=f"tok-{store.code}-{tipo}-{folio}",
        fecha_emision=date.fromisoformat(day),
        emitted_at=fields.pop("emitted_at", datetime.fromisoformat(f"{day}T15:00:00+00:00")),
        mnt_neto=neto,
        mnt_exe=exe,
        iva=iva,
        mnt_total=total,
        **fields,
    )


@pytest.fixture
def november(store, other_store):
    """November 2026: two boletas (one mixed), a boleta exenta, two facturas (one mixed), a factura exenta,
    a nota annulling a boleta and a partial nota of a factura — plus what must not count."""
    b1 = _emitted(store, 39, 1001, "2026-11-03", neto=10924, iva=2076, total=13000)
    _emitted(store, 39, 1002, "2026-11-03", neto=8403, exe=5000, iva=1597, total=15000)
    _emitted(store, 41, 2001, "2026-11-10", exe=7000, total=7000)
    f1 = _emitted(store, 33, 101, "2026-11-10", neto=50000, iva=9500, total=59500)
    _emitted(store, 33, 102, "2026-11-25", neto=20000, exe=3000, iva=3800, total=26800)
    _emitted(store, 34, 201, "2026-11-25", exe=40000, total=40000)
    _emitted(
        store, 61, 501, "2026-11-25", neto=10924, iva=2076, total=13000, annuls=b1, purpose=f"nc:{b1.pk}"
    )
    # Emitted at 23:30 in Chile on the 30th: already December 1st in UTC, November on the document.
    _emitted(
        store, 61, 502, "2026-11-30", neto=10000, iva=1900, total=11900, annuls=f1, purpose="nc-parcial:1",
        emitted_at=datetime(2026, 12, 1, 2, 30, tzinfo=UTC),
    )  # fmt: skip
    # Not counted: a demo boleta, the months around, another store, documents not emitted.
    _emitted(store, 39, 3001, "2026-11-12", neto=84033, iva=15966, total=99999, demo=True)
    _emitted(store, 39, 1000, "2026-10-31", neto=4202, iva=798, total=5000)
    _emitted(store, 39, 1003, "2026-12-01", neto=4202, iva=798, total=5000)
    _emitted(other_store, 33, 101, "2026-11-10", neto=100000, iva=19000, total=119000)
    make_document(store, tipo=39, state=DocumentState.PENDING, mnt_neto=840, iva=160, mnt_total=1000)
    make_document(store, tipo=33, kind="factura", state=DocumentState.REQUIRES_REVIEW, mnt_total=2000)
    return store


# (tipo, documents, neto, exento, IVA, total), computed by hand from the fixture above.
EXPECTED_ROWS = {
    "39": ("Boletas afectas (39)", 2, 19327, 5000, 3673, 28000),  # 10924+8403, 2076+1597, 13000+15000
    "41": ("Boletas exentas (41)", 1, 0, 7000, 0, 7000),
    "33": ("Facturas afectas (33)", 2, 70000, 3000, 13300, 86300),  # 50000+20000, 9500+3800
    "34": ("Facturas exentas (34)", 1, 0, 40000, 0, 40000),
    "61": ("Notas de crédito (61)", 2, -20924, 0, -3976, -24900),  # 10924+10000, 2076+1900, 13000+11900
    "total": ("Total del mes, descontadas las notas de crédito", 8, 68403, 55000, 12997, 136400),
}
EXPECTED_NOTAS = {
    "boletas": ("de boletas (39, 41)", 1, -10924, 0, -2076, -13000),
    "facturas": ("de facturas (33, 34)", 1, -10000, 0, -1900, -11900),
}
IVA_SALES, IVA_NOTAS, DEBITO = 16973, 3976, 12997  # 3673 + 13300; 2076 + 1900; 16973 − 3976
# day → (counts per 39, 41, 33, 34, 61; IVA; total), notas negative
EXPECTED_DAYS = {
    "2026-11-03": ([2, 0, 0, 0, 0], 3673, 28000),
    "2026-11-10": ([0, 1, 1, 0, 0], 9500, 66500),  # 7000 + 59500
    "2026-11-25": ([0, 0, 1, 1, 1], 1724, 53800),  # 3800 − 2076; 26800 + 40000 − 13000
    "2026-11-30": ([0, 0, 0, 0, 1], -1900, -11900),
}


def _clp(amount: int) -> str:
    return ("-" if amount < 0 else "") + "$" + f"{abs(amount):,}".replace(",", ".")


def _cells(row_html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    ]


def test_month_summary_figures_match_the_hand_computed_values(november):
    from merchant.f29 import month_summary

    summary = month_summary(store_id=november.pk, year=2026, month=11)
    rows = {row.key: row for row in summary.rows}
    for key, (label, *figures) in EXPECTED_ROWS.items():
        if key == "total":
            f = summary.total
        else:
            assert rows[key].label == label
            f = rows[key].figures
        assert [f.count, f.neto, f.exento, f.iva, f.total] == figures, key
    for row in summary.nota_origins:
        label, *figures = EXPECTED_NOTAS[row.key]
        f = row.figures
        assert (row.label, [f.count, f.neto, f.exento, f.iva, f.total]) == (label, figures)
    assert (summary.iva_sales, summary.iva_notas, summary.debito_fiscal) == (IVA_SALES, IVA_NOTAS, DEBITO)
    assert summary.demo_excluded == 1
    days = {d.day.isoformat(): (d.counts_in_order, d.iva, d.total) for d in summary.days}
    assert days == {day: (counts, iva, total) for day, (counts, iva, total) in EXPECTED_DAYS.items()}
    assert all(isinstance(v, int) for r in summary.rows for v in vars(r.figures).values())


def test_the_page_shows_every_figure_and_says_demo_documents_are_left_out(merchant, november):
    response = merchant.get("/app/f29/?mes=2026-11")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Resumen para tu F29 — noviembre de 2026" in text
    for key, (label, count, *amounts) in EXPECTED_ROWS.items():
        row = re.search(rf'<tr[^>]*data-tipo="{key}"[^>]*>(.*?)</tr>', text, re.S).group(1)
        assert _cells(row) == [label, str(count), *[_clp(a) for a in amounts]], key
    for key, (label, count, *amounts) in EXPECTED_NOTAS.items():
        row = re.search(rf'<tr[^>]*data-notas="{key}"[^>]*>(.*?)</tr>', text, re.S).group(1)
        assert _cells(row) == [label, str(count), *[_clp(a) for a in amounts]], key
    figures = dict(re.findall(r'<dd[^>]*data-figure="([a-z_]+)">([^<]*)</dd>', text))
    assert figures == {"iva_ventas": "$16.973", "iva_notas": "-$3.976", "debito": "$12.997"}
    for day, (counts, iva, total) in EXPECTED_DAYS.items():
        row = re.search(rf'<tr data-dia="{day}">(.*?)</tr>', text, re.S).group(1)
        d = date.fromisoformat(day)
        assert _cells(row) == [
            f"{d:%d-%m-%Y}",
            *[str(n) if n else "" for n in counts],
            _clp(iva),
            _clp(total),
        ]
    assert len(re.findall(r"<tr data-dia=", text)) == 4
    assert "1 documento de demostración de este mes no se cuenta" in text
    assert "Solo documentos emitidos por tu empresa real" in text
    assert "$99.999" not in text and "$119.000" not in text


def test_the_csv_has_the_same_figures(merchant, november):
    response = merchant.get("/app/f29/2026-11.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="f29-{november.code}-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0].startswith("Resumen para tu F29 — noviembre de 2026 (solo documentos reales emitidos")
    assert rows[1] == ["tipo", "documentos", "neto", "exento", "iva", "total"]
    expected = [
        [label, *map(str, figures)] for key, (label, *figures) in EXPECTED_ROWS.items() if key != "total"
    ]
    expected += [
        [f"Notas de crédito {label}", *map(str, figures)] for label, *figures in EXPECTED_NOTAS.values()
    ]
    total_label, *total = EXPECTED_ROWS["total"]
    expected.append(["Total del mes (descontadas las notas de crédito)", *map(str, total)])
    assert rows[2:10] == expected
    assert rows[10:16] == [
        [],
        ["IVA de ventas (33 y 39)", "16973"],
        ["IVA de notas de crédito (61)", "-3976"],
        ["Débito fiscal", "12997"],
        ["Documentos de demostración excluidos", "1"],
        [],
    ]
    assert rows[16] == [
        "fecha", "Boletas afectas (39)", "Boletas exentas (41)", "Facturas afectas (33)",
        "Facturas exentas (34)", "Notas de crédito (61)", "documentos", "iva", "total",
    ]  # fmt: skip
    assert rows[17:] == [
        [f"{date.fromisoformat(day):%d-%m-%Y}", *map(str, counts), str(sum(counts)), str(iva), str(total)]
        for day, (counts, iva, total) in EXPECTED_DAYS.items()
    ]


def test_the_csv_of_another_store_month_is_its_own(merchant, november, other_store):
    rows = list(csv.reader(io.StringIO(merchant.get("/app/f29/2026-12.csv").content.decode())))
    assert rows[2] == ["Boletas afectas (39)", "1", "4202", "0", "798", "5000"]
    assert merchant.get("/app/f29/2026-13.csv").status_code == 404


def test_default_month_is_the_current_month_in_chile(merchant, november, monkeypatch):
    # 02:00 UTC on December 1st is still November 30th in Santiago (UTC−3 in summer).
    monkeypatch.setattr("merchant.f29.timezone.now", lambda: datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    text = merchant.get("/app/f29/").content.decode()
    assert "Resumen para tu F29 — noviembre de 2026" in text
    assert 'value="2026-11"' in text
    assert "/app/f29/2026-11.csv" in text


def test_an_invalid_month_is_refused_in_spanish(merchant, november):
    response = merchant.get("/app/f29/?mes=2026-13")
    assert response.status_code == 400
    assert "Ese mes no es válido" in response.content.decode()


def test_the_menu_has_f29_after_impuestos(merchant):
    text = merchant.get("/app/f29/").content.decode()
    nav = re.search(r'<nav aria-label="Secciones" class="merchant-menu">(.*?)</nav>', text, re.S).group(1)
    labels = re.findall(r">([^<]+)</a>", nav)
    assert labels[labels.index("Impuestos") + 1] == "F29"
    assert re.search(r'<a href="/app/f29/" class="active" aria-current="page">F29</a>', nav)


def test_a_running_reconciliation_shows_its_progress_instead_of_the_button(merchant, store):
    from merchant.models import BackgroundJob

    BackgroundJob.objects.create(
        store=store, kind="f29_reconcile", state="running", params={"year": 2026, "month": 11},
        total=6, done=2, created=60,
    )  # fmt: skip
    text = merchant.get("/app/f29/?mes=2026-11").content.decode()
    assert '<progress class="job-bar" max="6" value="2"' in text
    assert "60</strong> documentos leídos en OpenFactura" in text
    assert "Conciliar con OpenFactura</button>" not in text
    # Another month's page offers the button.
    assert "Conciliar con OpenFactura</button>" in merchant.get("/app/f29/?mes=2026-10").content.decode()


def test_the_last_result_of_the_month_is_shown(merchant, store):
    from merchant.models import BackgroundJob

    result = {
        "year": 2026, "month": 11, "cancelled": False, "error": "", "openfactura_count": 3, "ours_count": 2,
        "matched": 2, "only_ours": [], "mismatches": [], "resolved_by_hand": [],
        "only_openfactura": [{"tipo": 33, "documento": "Factura electrónica", "folio": 7,
                              "fecha": "2026-11-04", "total": 119000, "rut_recep": "76123456-0",
                              "razon_social": "Mayorista SpA"}],
    }  # fmt: skip
    BackgroundJob.objects.create(
        store=store, kind="f29_reconcile", state="done", params={"year": 2026, "month": 11}, result=result
    )
    text = merchant.get("/app/f29/?mes=2026-11").content.decode()
    assert "OpenFactura lista 3 documentos de este mes; aquí hay 2; coinciden 2." in text
    row = re.search(r'<tr data-clave="33-7">(.*?)</tr>', text, re.S).group(1)
    assert _cells(row) == ["Factura electrónica (33)", "7", "04-11-2026", "Mayorista SpA", "$119.000"]


def test_documents_resolved_by_hand_are_said_to_be_outside_the_figures(merchant, november):
    """A factura the merchant issued elsewhere and marked «Resuelto a mano» is not in the figures (this
    app did not emit it): the page says so, and the figures stay those of the emitted documents."""
    make_document(
        november,
        tipo=33,
        kind="factura",
        demo=False,
        state=DocumentState.RESOLVED,
        resolved_folio=777,
        resolved_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        mnt_total=11900,
    )
    make_document(  # resolved in another month: not this month's
        november,
        tipo=39,
        demo=False,
        state=DocumentState.RESOLVED,
        resolved_at=datetime(2026, 10, 5, 15, 0, tzinfo=UTC),
    )
    text = merchant.get("/app/f29/?mes=2026-11").content.decode()
    assert "1 documento marcado «Resuelto a mano» este mes no está en estas cifras" in text
    assert month_summary(store_id=november.pk, year=2026, month=11).total.total == EXPECTED_ROWS["total"][-1]
    assert "Resuelto a mano" not in merchant.get("/app/f29/?mes=2026-12").content.decode()
