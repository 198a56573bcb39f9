"""Edges of ``emission`` that customers reach: the PDF behind a signed capability link."""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from emission import selectors, services
from emission.client import OpenFacturaError


@require_GET
def document_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The PDF of one emitted document. The link is signed (store and document), so it cannot be guessed
    or pointed at another store's document; anything wrong is one uniform 404."""
    try:
        payload = signing.loads(token, salt=services.PDF_LINK_SALT)
        document = selectors.emitted_document(store_id=int(payload["s"]), document_id=int(payload["d"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404 from None
    if document is None:
        raise Http404
    try:
        pdf = services.document_pdf_bytes(document)
    except OpenFacturaError:
        return HttpResponse(
            "El PDF no está disponible en este momento. Intenta nuevamente en unos minutos.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.tipo}-{document.folio}.pdf"'
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, max-age=3600"
    return response
