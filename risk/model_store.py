"""The live risk model as a worker holds it: loaded once, reloaded when the live version changes.

Checking is one indexed query for the live version's id; the artifact (tens
of MB) is read and unpickled only when that id differs from the one held.
"""

import hashlib
import logging
import threading

from risk.models import ModelVersion

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_held: dict = {"pk": None, "label": "", "model": None}


def live_model():
    """(label, model) of the live version, or ("", None) when there is none."""
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
    with _lock:
        if _held["pk"] != pk:
            _held.update(pk=pk, label=f"m{version}", model=load_version(pk))
            logger.info("loaded risk model m%s", version)
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
