"""Fake OpenFactura (Haulmer) API for the built-in sandbox, mounted at ``/sandbox/openfactura/``.

* API (``OPENFACTURA_URL`` = ``{PUBLIC_BASE_URL}/sandbox/openfactura``): ``v2/dte/...`` — ``views``;
  key check, rate limit and faults in ``gateway``; the independent SII validation in ``validation``
  and ``dte_xml`` (schemas from ``../shared/sii-schemas``); PDF/PNG in ``pdf``; demo companies and
  taxpayers in ``companies`` and ``fixtures/taxpayers.json``.
* Control API (pinned): ``GET documents``, ``POST|DELETE faults`` — ``control``.
* Python API for the sandbox pages: ``selectors`` (``documents_for_rut``, ``document_pdf``, …) and the
  URL name ``sandbox_openfactura_document_pdf``.
* Settings: ``SANDBOX_OPENFACTURA_RATE_LIMIT`` (``"3/100"`` default, ``"off"``),
  ``SANDBOX_OPENFACTURA_IDEMPOTENCY_TTL`` (seconds, 86400), ``SANDBOX_OPENFACTURA_SCHEMAS_DIR``
  (``""`` disables the schema check).
"""
