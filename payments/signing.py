"""The signature a bank puts on its payment notifications, and its check.

HMAC-SHA256 with the shared secret over "<timestamp>.<raw body>", hex, in
X-Signature; the Unix time it was signed at in X-Timestamp. Signing the
timestamp with the body lets the platform refuse a captured message replayed
after the tolerance; the unique notification id refuses one replayed sooner.
"""

import hashlib
import hmac
import time

from rest_framework import status

from core.exceptions import ApplicationError

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"


class SignatureRefused(ApplicationError):
    """The notification does not come from the bank, or not now."""

    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, header: str, message: str):
        super().__init__(message, extra={"fields": {header: [message]}})


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers a bank sends with `body` (for the tests; the sandbox bank, another
    company's system, signs with its own code)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = sign(secret=secret, timestamp=stamp, body=body)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature}


def verify(
    *, secret: str, timestamp: str | None, signature: str | None, body: bytes, tolerance: int
) -> None:
    """Refuse (SignatureRefused) unless the body was signed with the secret within
    `tolerance` seconds of now."""
    if not secret:
        raise SignatureRefused(SIGNATURE_HEADER, "Payment notifications are not configured.")
    if not signature:
        raise SignatureRefused(SIGNATURE_HEADER, "The notification is not signed.")
    if not timestamp or not timestamp.isdigit():
        raise SignatureRefused(TIMESTAMP_HEADER, "Give the Unix time the body was signed at.")
    expected = sign(secret=secret, timestamp=timestamp, body=body)
    # Constant time: the comparison must not tell a forger how much was right.
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureRefused(SIGNATURE_HEADER, "The signature does not match the body.")
    if abs(time.time() - int(timestamp)) > tolerance:
        raise SignatureRefused(
            TIMESTAMP_HEADER, f"The notification was signed more than {tolerance} s from now."
        )
