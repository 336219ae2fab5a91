"""`Idempotency-Key` support for API calls that create or lodge something."""

import hashlib
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.response import Response

from core.exceptions import ApplicationError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def idempotent(view_method):
    """Replay the first successful response to a request with the same key.

    The work and the stored response commit together, so a request that
    failed (4xx raised as an exception, or a crash) leaves no record and may
    be retried; one that succeeded is answered from the record, with
    `Idempotent-Replayed: true`, and files nothing twice.
    """

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise IdempotencyKeyReused(f"{HEADER} must be 1 to 255 characters.")
        digest = hashlib.sha256()
        digest.update(f"{request.method} {request.path}\n".encode())
        digest.update(request.body)
        fingerprint = digest.hexdigest()

        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=request.user, key=key, fingerprint=fingerprint, status_code=0, body={}
                    )
            except IntegrityError:
                # Another request with this key committed first (we waited for it).
                earlier = IdempotencyRecord.objects.get(user=request.user, key=key)
                if earlier.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        f"This {HEADER} was already used for a different request."
                    ) from None
                return Response(
                    earlier.body,
                    status=earlier.status_code,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = view_method(self, request, *args, **kwargs)
            record.status_code = response.status_code
            record.body = response.data
            record.save(update_fields=["status_code", "body"])
            return response

    return wrapper
