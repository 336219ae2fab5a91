"""The beat job over provisional declarations: reminders before the documents are
due (each once, however often the job runs), the overdue flag once the deadline
passes (declarant and customs at the office told once), and its place in beat."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from clearance.relief import owed_document_supply
from notifications.models import Notification
from relief.models import ProvisionalDeclaration
from relief.tasks import sweep_documents_owed
from singlewindow.celery import app
from tests.emergencies.conftest import TENTS
from tests.factories import route
from tests.relief.conftest import lodge, provisional_header

pytestmark = pytest.mark.django_db


@pytest.fixture
def owed(cast, emergency, ngo):
    """A provisional relief declaration under review, its invoice and B/L owed."""
    items = [TENTS]
    return route(lodge(ngo, items, **provisional_header(ngo, items)), lane="yellow")


def due_in(declaration, delta: timedelta) -> None:
    ProvisionalDeclaration.objects.filter(declaration=declaration).update(
        due_at=timezone.now() + delta
    )


def told(user, verb: str) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, verb=verb).values_list("text", flat=True)
    )


def test_the_beat_schedule_runs_the_sweep():
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "relief.tasks.sweep_documents_owed"
    )  # fmt: skip
    assert entry["schedule"] > 0
    assert "relief.tasks.sweep_documents_owed" in app.tasks
    assert settings.RELIEF_DOCUMENT_REMINDER_DAYS == [3, 1]


def test_each_reminder_goes_out_once_however_often_the_job_runs(cast, ngo, owed):
    # Not due for a while: nothing to say.
    assert sweep_documents_owed()["reminded"] == 0

    due_in(owed, timedelta(days=2, hours=20))
    assert sweep_documents_owed() == {"withdrawn": 0, "reminded": 1, "overdue": 0}
    assert sweep_documents_owed()["reminded"] == 0
    reminders = told(ngo, "documents_reminder")
    assert len(reminders) == 1
    assert reminders[0].startswith(f"{owed.reference}: Reminder: the documents owed under "
                                   "Typhoon Mawar are due by ")  # fmt: skip
    assert "Commercial invoice (its number); Transport document (B/L or AWB)" in reminders[0]

    due_in(owed, timedelta(hours=20))
    assert sweep_documents_owed()["reminded"] == 1
    assert sweep_documents_owed()["reminded"] == 0
    assert len(told(ngo, "documents_reminder")) == 2
    assert ProvisionalDeclaration.objects.get(declaration=owed).reminded_days == 1
    # In the declaration's trail, for the declarant to read.
    assert owed.events.filter(action="documents_reminder").count() == 2


def test_a_job_that_missed_the_first_reminder_sends_only_the_last(cast, ngo, owed):
    due_in(owed, timedelta(hours=12))
    assert sweep_documents_owed()["reminded"] == 1
    assert sweep_documents_owed()["reminded"] == 0
    assert len(told(ngo, "documents_reminder")) == 1
    assert owed.events.get(action="documents_reminder").data == {"days_before": 1}


def test_past_the_deadline_the_declaration_is_flagged_once(cast, ngo, owed):
    due_in(owed, -timedelta(minutes=1))
    assert sweep_documents_owed() == {"withdrawn": 0, "reminded": 0, "overdue": 1}
    assert sweep_documents_owed() == {"withdrawn": 0, "reminded": 0, "overdue": 0}

    provisional = ProvisionalDeclaration.objects.get(declaration=owed)
    assert provisional.status == ProvisionalDeclaration.Status.OVERDUE
    assert provisional.overdue_at is not None
    [notice] = told(ngo, "documents_overdue")
    assert "Documents overdue" in notice and "Customs has been told" in notice
    # The customs staff of the office of entry are told, not another agency's.
    for officer in (cast.customs_officer, cast.supervisor):
        [text] = told(officer, "documents_overdue")
        assert text.startswith(f"{owed.reference} (Korea Relief Cross): documents of a "
                               "provisional relief declaration overdue since ")  # fmt: skip
    assert told(cast.food_officer, "documents_overdue") == []
    assert owed.events.filter(action="documents_overdue").count() == 1

    # Supplied late, it is complete all the same, and customs hears of it.
    for document in provisional.documents.order_by("pk"):
        owed_document_supply(
            actor=ngo, declaration_id=owed.pk, owed_id=document.pk, reference=f"LATE-{document.pk}"
        )
    provisional.refresh_from_db()
    assert provisional.status == ProvisionalDeclaration.Status.COMPLETE
    assert len(told(cast.customs_officer, "documents_complete")) == 1


# Two connections at once: committed for real, and the database restored after it
# (content types with their ids, as tests/conftest.py explains).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_remind_and_flag_each_declaration_once(cast, emergency, ngo):
    items = [TENTS]
    late = [lodge(ngo, items, **provisional_header(ngo, items)) for _ in range(4)]
    soon = [lodge(ngo, items, **provisional_header(ngo, items)) for _ in range(3)]
    for declaration in late:
        due_in(declaration, -timedelta(hours=1))
    for declaration in soon:
        due_in(declaration, timedelta(hours=30))
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(sweep_documents_owed())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A row another transaction holds (the two runs, or a worker scoring the
    # declaration) is skipped and taken by a later run: run once more, then each
    # declaration was reminded or flagged exactly once.
    results.append(sweep_documents_owed())
    # A row one sweep holds is skipped (SKIP LOCKED) by the other and taken by the next
    # run: together, every declaration is reminded or flagged exactly once.
    results.append(sweep_documents_owed())
    assert sum(r["overdue"] for r in results) == 4
    assert sum(r["reminded"] for r in results) == 3
    assert sweep_documents_owed() == {"withdrawn": 0, "reminded": 0, "overdue": 0}
    assert len(told(ngo, "documents_overdue")) == 4
    assert len(told(ngo, "documents_reminder")) == 3
    assert len(told(cast.customs_officer, "documents_overdue")) == 4
