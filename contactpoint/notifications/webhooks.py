"""Signed webhooks: how a body is signed, how a receiver checks it, and how it is sent.

The signature is HMAC-SHA256, keyed with the endpoint's secret, over `<timestamp>.<body>`, sent as
`ContactPoint-Signature: t=<unix seconds>,v1=<hex>`. Signing the timestamp lets a receiver refuse
a captured request replayed later; the `Idempotency-Key` header (the same on every retry of one
delivery) lets it drop a repeat of one it has already acted on.
"""

import hashlib
import hmac
import time
import urllib.error
import urllib.request

from django.conf import settings

SIGNATURE_HEADER = "ContactPoint-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "ContactPoint-Event"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookFailed(Exception):
    """The receiver did not take the delivery (no answer, or not a 2xx); it will be retried."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: the MAC matches and the timestamp is recent (constant-time compare)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        sent = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, sent)


def webhook_post(*, url: str, secret: str, body: bytes, idempotency_key: str, kind: str) -> int:
    """POST one signed delivery; returns the status, raising WebhookFailed unless it is 2xx."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ContactPoint-Webhooks/1",
        SIGNATURE_HEADER: signature(secret, body, int(time.time())),
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: kind,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked at registration
    try:
        with urllib.request.urlopen(request, timeout=settings.CONTACTPOINT_WEBHOOK_TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"HTTP {exc.code} from the receiver") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookFailed(f"no answer: {exc}"[:300]) from exc
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status} from the receiver")
    return status
