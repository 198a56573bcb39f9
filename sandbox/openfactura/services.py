"""State changes of the fake OpenFactura: emission (claim → folio → document), faults.

Emission with an ``Idempotency-Key`` (openfactura-api.md §2.1, §2.5; §9 #1):

1. an active claim for (API key, Idempotency-Key) already exists → OF-06, whatever the body;
2. the body is validated (a rejected body claims nothing and consumes no folio);
3. the claim is inserted and committed on its own; the unique constraint on (API key hash, key) lets
   exactly one of any number of concurrent identical requests through. A loser answers OF-06 with the
   original token when the winner has committed its document, else OF-06 "Este DTE está siendo
   procesado (R)." without a token;
4. folio (``select_for_update`` on the counter row) and document are created in one transaction, and
   the claim is pointed at the document. If that fails, the claim is deleted.

Claims live 24 h from first use (setting ``SANDBOX_OPENFACTURA_IDEMPOTENCY_TTL``, seconds); an
in-flight claim older than ``STALE_CLAIM`` (its process died) is discarded.

Where the OF-06 token is (§9 #1) is a fault, ``of06_token_in``, so that each reading of it can be tested
alone: ``"top"`` — ``error.token``, as in the docs' example; ``"details"`` — ``error.details: [{"field":
"token", "issue": <token>}]``, as the CLI reads it; ``"both"`` (the default, when no fault says otherwise)
— both at once.

Whether a rejected request consumes its key is documented nowhere (openfactura-api.md, Addendum: "assume
it may"). By default it does not (step 2); the fault ``reject_consumes_key`` makes every data/validation
rejection of the emission (OF-01…OF-20 from the checks, or an injected OF-02/OF-08/OF-10) keep its key for
24 h with no document: a later request with that key gets OF-06 without a token, whatever its body.

``document_issue_by_hand`` (control API) stores a document the company issued outside the API (OpenFactura's
web form, another system): it has a folio and is in the issued list, but no request of ours explains it.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .companies import Account
from .models import Document, Faults, FolioCounter, IdempotencyClaim
from .validation import BOLETAS, Emission

FIRST_FOLIO = {39: 1000, 41: 1000, 33: 100, 34: 100, 61: 500, 56: 300}
IDEMPOTENCY_TTL = 24 * 3600
STALE_CLAIM = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
DUPLICATE_MESSAGE = "Este DTE ya fue emitido (Idempotency-Key)"
IN_FLIGHT_MESSAGE = "Este DTE está siendo procesado (R)."
CONSUMED_MESSAGE = "Validación Idempotencia"  # the code's official message: no document to name
OF06_TOKEN_IN = ("both", "top", "details")


class Duplicate(Exception):
    """OF-06: the Idempotency-Key was used; ``token`` is the original document (None while in flight,
    or when a rejected request consumed the key: ``rejected``)."""

    def __init__(self, token: str | None, *, rejected: bool = False) -> None:
        super().__init__(token or ("consumed by a rejection" if rejected else "in flight"))
        self.token = token
        self.rejected = rejected

    def body(self, location: str = OF06_TOKEN_IN[0]) -> dict[str, Any]:
        """The 400 answer, with the original token where ``location`` (fault ``of06_token_in``) says."""
        if self.token is None:
            message = CONSUMED_MESSAGE if self.rejected else IN_FLIGHT_MESSAGE
            return {"error": {"message": message, "code": "OF-06"}}
        error: dict[str, Any] = {"message": DUPLICATE_MESSAGE, "code": "OF-06"}
        if location in ("top", "both"):
            error["token"] = self.token
        if location in ("details", "both"):
            error["details"] = [{"field": "token", "issue": self.token}]
        return {"error": error}


def _ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "SANDBOX_OPENFACTURA_IDEMPOTENCY_TTL", IDEMPOTENCY_TTL))


def _active_claims(*, api_key_hash: str, key: str, now: datetime):
    return IdempotencyClaim.objects.filter(api_key_hash=api_key_hash, key=key, expires_at__gt=now).filter(
        Q(document__isnull=False) | Q(rejected=True) | Q(created_at__gt=now - STALE_CLAIM)
    )


def idempotency_check(*, account: Account, key: str | None) -> None:
    """Raise :class:`Duplicate` when ``key`` is already claimed for this API key."""
    if not key:
        return
    claim = _active_claims(api_key_hash=account.key_hash, key=key, now=timezone.now()).select_related(
        "document"
    )
    found = claim.first()
    if found is not None:
        raise Duplicate(token=found.document.token if found.document else None, rejected=found.rejected)


def idempotency_consume(*, account: Account, key: str | None) -> None:
    """Fault ``reject_consumes_key``: keep the key of a rejected request for 24 h, with no document."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return
    now = timezone.now()
    with transaction.atomic():
        _give_way(account=account, key=key, now=now)
        IdempotencyClaim.objects.get_or_create(
            api_key_hash=account.key_hash,
            key=key,
            defaults={"created_at": now, "expires_at": now + _ttl(), "rejected": True},
        )


def _give_way(*, account: Account, key: str, now: datetime) -> None:
    """Delete an expired claim of ``key``, or an abandoned in-flight one (its process died)."""
    IdempotencyClaim.objects.filter(api_key_hash=account.key_hash, key=key).filter(
        Q(expires_at__lte=now) | Q(document__isnull=True, rejected=False, created_at__lte=now - STALE_CLAIM)
    ).delete()


def _claim(*, account: Account, key: str) -> IdempotencyClaim:
    now = timezone.now()
    try:
        with transaction.atomic():
            _give_way(account=account, key=key, now=now)  # an expired or abandoned claim gives way
            return IdempotencyClaim.objects.create(
                api_key_hash=account.key_hash, key=key, created_at=now, expires_at=now + _ttl()
            )
    except IntegrityError:
        idempotency_check(account=account, key=key)
        raise Duplicate(token=None) from None


def folio_next(*, rut_emisor: str, tipo: int) -> int:
    """Take the next folio of (emisor, tipo). Must run inside a transaction."""
    counter = FolioCounter.objects.select_for_update().filter(rut_emisor=rut_emisor, tipo=tipo).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter = FolioCounter.objects.create(
                    rut_emisor=rut_emisor, tipo=tipo, next_folio=FIRST_FOLIO.get(tipo, 1)
                )
        except IntegrityError:  # created meanwhile by a concurrent emission
            counter = FolioCounter.objects.select_for_update().get(rut_emisor=rut_emisor, tipo=tipo)
    folio = counter.next_folio
    FolioCounter.objects.filter(pk=counter.pk).update(next_folio=folio + 1)
    return folio


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def document_emit(
    *, account: Account, emission: Emission, raw_body: str, idempotency_key: str | None
) -> Document:
    """Store an accepted emission; raises :class:`Duplicate` for a repeated Idempotency-Key."""
    claim = _claim(account=account, key=idempotency_key) if idempotency_key else None
    try:
        with transaction.atomic():
            emits_folio = emission.issue_boleta or emission.tipo not in BOLETAS
            folio = folio_next(rut_emisor=emission.rut_emisor, tipo=emission.tipo) if emits_folio else None
            dte = emission.dte
            if folio is not None:
                dte["Encabezado"]["IdDoc"]["Folio"] = folio
            receptor = dte["Encabezado"].get("Receptor") or {}
            document = Document.objects.create(
                token=secrets.token_hex(32),
                api_key_hash=account.key_hash,
                rut_emisor=emission.rut_emisor,
                tipo=emission.tipo,
                folio=folio,
                fch_emis=date.fromisoformat(emission.fch_emis),
                rut_recep=emission.rut_recep,
                rut_recep_digits=int(emission.rut_recep.split("-")[0]),
                rzn_soc_recep=str(receptor.get("RznSocRecep") or "")[:100],
                mnt_neto=emission.totals.mnt_neto,
                mnt_exe=emission.totals.mnt_exe,
                iva=emission.totals.iva,
                mnt_total=emission.totals.mnt_total,
                idempotency_key=idempotency_key or "",
                request_body=raw_body,
                dte_body=dumps(dte),
                response_parts=emission.response,
            )
            if claim is not None:
                IdempotencyClaim.objects.filter(pk=claim.pk).update(document=document)
    except BaseException:
        if claim is not None:
            IdempotencyClaim.objects.filter(pk=claim.pk, document__isnull=True).delete()
        raise
    return document


# --- documents issued by hand (control API) -----------------------------------------------------
HAND_ISSUED_TIPOS = (33, 34, 39, 41, 61)
CONSUMIDOR_FINAL = "66666666-6"


class HandIssueInvalid(ValueError):
    pass


def _hand_totals(tipo: int, data: dict[str, Any]) -> tuple[int, int, int, int]:
    """(neto, exento, IVA, total): the ones given, else from ``mnt_total`` as OpenFactura's web form would
    (an afecto total is gross: neto = total / 1.19 rounded half up, IVA = total − neto)."""
    given = {name: data.get(name) for name in ("mnt_neto", "mnt_exe", "iva", "mnt_total")}
    for name, value in given.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise HandIssueInvalid(f"{name} debe ser un entero no negativo (pesos)")
    total = given["mnt_total"]
    if total is None:
        raise HandIssueInvalid("Falta mnt_total")
    if given["mnt_neto"] is None and given["iva"] is None and given["mnt_exe"] is None:
        if tipo in (34, 41):
            return 0, total, 0, total
        neto = int((Decimal(total) / Decimal("1.19")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return neto, 0, total - neto, total
    neto, exe, iva = given["mnt_neto"] or 0, given["mnt_exe"] or 0, given["iva"] or 0
    if neto + exe + iva != total:
        raise HandIssueInvalid("mnt_neto + mnt_exe + iva debe ser mnt_total")
    return neto, exe, iva, total


def document_issue_by_hand(*, account: Account, data: dict[str, Any]) -> Document:
    """A document the company issued in OpenFactura itself (its web form, or another system): no request,
    no Idempotency-Key; it takes the next folio and is listed as issued like any other. ``data``:
    ``tipo``, ``fch_emis`` (``YYYY-MM-DD``, default today in Chile), ``mnt_total`` (and optionally
    ``mnt_neto``, ``mnt_exe``, ``iva``), ``rut_recep``, ``razon_social``."""
    tipo = data.get("tipo")
    if tipo not in HAND_ISSUED_TIPOS:
        raise HandIssueInvalid(f"tipo debe ser uno de {', '.join(map(str, HAND_ISSUED_TIPOS))}")
    try:
        fch_emis = date.fromisoformat(str(data.get("fch_emis") or timezone.localdate().isoformat()))
    except ValueError:
        raise HandIssueInvalid("fch_emis debe ser una fecha AAAA-MM-DD") from None
    neto, exe, iva, total = _hand_totals(tipo, data)
    rut_recep = str(data.get("rut_recep") or CONSUMIDOR_FINAL)
    razon_social = str(data.get("razon_social") or ("" if tipo in BOLETAS else "Cliente sin datos"))[:100]
    totales: dict[str, Any] = {"MntNeto": neto, "MntExe": exe, "IVA": iva, "MntTotal": total}
    with transaction.atomic():
        folio = folio_next(rut_emisor=account.rut, tipo=tipo)
        dte = {
            "Encabezado": {
                "IdDoc": {"TipoDTE": tipo, "Folio": folio, "FchEmis": fch_emis.isoformat()},
                "Emisor": {"RUTEmisor": account.rut, "RznSoc": account.organization["razonSocial"]},
                "Receptor": {"RUTRecep": rut_recep, "RznSocRecep": razon_social},
                "Totales": totales,
            },
            "Detalle": [
                {"NroLinDet": 1, "NmbItem": "Venta emitida a mano", "QtyItem": 1, "PrcItem": total,
                 "MontoItem": total, **({"IndExe": 1} if exe and not neto else {})}
            ],
        }  # fmt: skip
        return Document.objects.create(
            token=secrets.token_hex(32),
            api_key_hash=account.key_hash,
            rut_emisor=account.rut,
            tipo=tipo,
            folio=folio,
            fch_emis=fch_emis,
            rut_recep=rut_recep,
            rut_recep_digits=int(rut_recep.split("-")[0].replace(".", "") or 0),
            rzn_soc_recep=razon_social,
            mnt_neto=neto,
            mnt_exe=exe,
            iva=iva,
            mnt_total=total,
            request_body="{}",
            dte_body=dumps(dte),
            response_parts=[],
        )


# --- faults ------------------------------------------------------------------------------------
FAULT_FIELDS = {
    "latency_ms", "error_rate", "status", "timeout", "timeout_seconds", "timeout_after_emit",
    "down_seconds", "count", "scope", "estado", "rate_limit", "reject_consumes_key", "of06_token_in",
}  # fmt: skip
REJECTION_STATUSES = {"OF-02", "OF-08", "OF-10"}  # injected data errors (a rejection, not "try later")
FAULT_STATUSES = {"429", "OF-21", "OF-23", "OF-13", "OF-22"} | REJECTION_STATUSES


class FaultsInvalid(ValueError):
    pass


def _number(data: dict, name: str, *, minimum: float = 0, maximum: float | None = None) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultsInvalid(f"{name} debe ser un número")
    if value < minimum or (maximum is not None and value > maximum):
        raise FaultsInvalid(f"{name} fuera de rango")
    return value


def faults_set(*, data: dict) -> Faults:
    """Replace the faults with ``data`` (fields not given go back to "no fault").

    ``rate_limit`` is not a fault: it keeps its value unless given. See ``gateway`` for the meaning
    of each field.
    """
    from .gateway import _parse_limits

    unknown = set(data) - FAULT_FIELDS
    if unknown:
        raise FaultsInvalid(f"campos desconocidos: {', '.join(sorted(unknown))}")
    status = data.get("status")
    if status is not None:
        status = str(status).strip().upper()
        if not (status in FAULT_STATUSES or (status.isdigit() and 500 <= int(status) <= 599)):
            raise FaultsInvalid("status debe ser 429, 5xx, OF-21, OF-23, OF-13, OF-22, OF-02, OF-08 u OF-10")
    reject_consumes_key = data.get("reject_consumes_key", False)
    if not isinstance(reject_consumes_key, bool):
        raise FaultsInvalid("reject_consumes_key debe ser true o false")
    of06_token_in = data.get("of06_token_in") or "both"
    if of06_token_in not in OF06_TOKEN_IN:
        raise FaultsInvalid("of06_token_in debe ser top, details o both")
    timeout = data.get("timeout", False)
    timeout_seconds = _number(data, "timeout_seconds", maximum=3600)
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        timeout_seconds, timeout = float(timeout), timeout > 0
    elif not isinstance(timeout, bool):
        raise FaultsInvalid("timeout debe ser true/false o segundos")
    scope = data.get("scope") or "all"
    if scope not in {"all", "emit", "read"}:
        raise FaultsInvalid("scope debe ser all, emit o read")
    if "rate_limit" in data:
        try:
            _parse_limits(data["rate_limit"])
        except (ValueError, TypeError) as exc:
            raise FaultsInvalid(str(exc)) from None
    down = _number(data, "down_seconds", maximum=86400)
    count = _number(data, "count")
    with transaction.atomic():
        faults = Faults.objects.select_for_update().filter(pk=1).first() or Faults(pk=1)
        faults.latency_ms = int(_number(data, "latency_ms", maximum=600_000) or 0)
        faults.error_rate = _number(data, "error_rate", maximum=1)
        faults.status = status or ""
        faults.timeout = timeout
        faults.timeout_seconds = timeout_seconds
        faults.timeout_after_emit = bool(data.get("timeout_after_emit", False))
        faults.down_until = timezone.now() + timedelta(seconds=down) if down else None
        faults.remaining = int(count) if count is not None else None
        faults.scope = scope
        faults.estado = str(data.get("estado") or "")[:30]
        if "rate_limit" in data:
            faults.rate_limit = data["rate_limit"]
        faults.reject_consumes_key = reject_consumes_key
        faults.of06_token_in = of06_token_in
        faults.version += 1
        faults.updated_at = timezone.now()
        faults.save()
    return faults


def faults_clear() -> Faults:
    """No faults, and the rate limit back to the setting."""
    with transaction.atomic():
        faults = Faults.objects.select_for_update().filter(pk=1).first() or Faults(pk=1)
        version = faults.version + 1
        faults = Faults(pk=1, version=version)
        faults.save()
    return faults


def faults_json(faults: Faults) -> dict[str, Any]:
    down = faults.down_for()
    return {
        "latency_ms": faults.latency_ms,
        "error_rate": faults.error_rate,
        "status": faults.status or None,
        "timeout": faults.timeout,
        "timeout_seconds": faults.timeout_seconds,
        "timeout_after_emit": faults.timeout_after_emit,
        "down_until": faults.down_until.isoformat() if down is not None else None,
        "count": faults.remaining,
        "scope": faults.scope,
        "estado": faults.estado or None,
        "rate_limit": faults.rate_limit,
        "reject_consumes_key": faults.reject_consumes_key,
        "of06_token_in": faults.of06_token_in,
    }
