"""The live risk model as a worker holds it: loaded once, reloaded when the live version changes.

Checking is one indexed query for the live version's id; the artifact (tens
of MB) is read and unpickled only when that id differs from the one held.
A version that would not load is not read again for RISK_MODEL_RETRY_SECONDS:
until then asking for it raises the same error at once (ModelUnavailable).
"""

import hashlib
import logging
import threading
import time

from django.conf import settings

from risk.models import ModelVersion

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_held: dict = {"pk": None, "label": "", "model": None}
# The version that last failed to load, when, and why.
_failed: dict = {"pk": None, "at": 0.0, "error": ""}


class ModelUnavailable(Exception):
    """The live model version cannot be loaded: a fault of every declaration alike."""

    def __init__(self, label: str, error: str):
        super().__init__(f"model {label} will not load: {error}")
        self.label = label


def forget() -> None:
    """Drop the model held and the memory of a failed load: the next question reads the
    live version afresh (tests; a process starting over)."""
    with _lock:
        _held.update(pk=None, label="", model=None)
        _failed.update(pk=None, at=0.0, error="")


def live_model():
    """(label, model) of the live version, or ("", None) when there is none.

    Raises ModelUnavailable when the live version will not load.
    """
    live = (
        ModelVersion.objects.filter(status=ModelVersion.Status.LIVE)
        .values_list("pk", "version")
        .first()
    )
    if live is None:
        return "", None
    pk, version = live
    if _held["pk"] == pk:
        return _held["label"], _held["model"]
    label = f"m{version}"
    with _lock:
        if _held["pk"] != pk:
            retry_at = _failed["at"] + settings.RISK_MODEL_RETRY_SECONDS
            if _failed["pk"] == pk and time.monotonic() < retry_at:
                raise ModelUnavailable(label, _failed["error"])
            try:
                model = load_version(pk)
            except Exception as exc:
                _failed.update(pk=pk, at=time.monotonic(), error=f"{type(exc).__name__}: {exc}")
                logger.exception("risk model %s will not load", label)
                raise ModelUnavailable(label, _failed["error"]) from exc
            _failed.update(pk=None, at=0.0, error="")
            _held.update(pk=pk, label=label, model=model)
            logger.info("loaded risk model %s", label)
    return _held["label"], _held["model"]


def load_version(pk: int):
    from risk.ml.model import RiskModel

    artifact, sha256 = ModelVersion.objects.values_list("artifact", "sha256").get(pk=pk)
    blob = bytes(artifact)
    # The artifact is unpickled: refuse anything but the bytes this platform stored.
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise ValueError(f"model version {pk}: artifact does not match its SHA-256")
    model = RiskModel.from_bytes(blob)
    # One thread per prediction: a worker process scores one declaration at a time
    # and the machine's cores belong to the other worker processes.
    model.n_jobs = 1
    return model
