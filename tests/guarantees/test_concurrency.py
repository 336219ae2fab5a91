"""Two movements drawing on one guarantee at once cannot take more than it holds."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from clearance.services import transit_at_stake
from declarations.models import Declaration
from guarantees.models import Guarantee, GuaranteeDraw
from guarantees.services import guarantee_draw
from tests.conftest import wait_for
from tests.factories import item_data
from tests.guarantees.conftest import guarantee_accept, transit_header

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_on_a_lock(pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_a_second_draw_waits_for_the_first_and_is_refused_what_it_took(cast, posted):
    # Drafts, drawn on as their lodgement draws (clearance.services._guarantee_draw): a
    # lodgement here would also queue scoring for the suite's worker.
    from declarations.services import declaration_create

    items = [item_data()]
    movements = [
        declaration_create(actor=cast.trader_a, header=transit_header(items), items=items)
        for _ in range(2)
    ]
    at_stake = transit_at_stake(movements[0])
    # Enough for one movement, not for two.
    guarantee = guarantee_accept(
        company=cast.company_a,
        proposer=posted.departure,
        approver=posted.supervisor,
        amount=at_stake * 3 / 2,
    )
    first_drawn, commit_first = threading.Event(), threading.Event()
    second_pid, results = [], {}

    def draw(movement):
        locked = Declaration.objects.select_for_update().get(pk=movement.pk)
        return guarantee_draw(declaration=locked, amount=at_stake, actor=cast.trader_a)

    def first():
        try:
            with transaction.atomic():
                results["first"] = draw(movements[0])
                first_drawn.set()
                # Hold the guarantee's lock until the second draw waits for it.
                commit_first.wait(30)
        except Exception as exc:
            results["first"] = exc
            first_drawn.set()
        finally:
            connection.close()

    def second():
        try:
            first_drawn.wait(30)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.append(cursor.fetchone()[0])
            with transaction.atomic():
                results["second"] = draw(movements[1])
        except Exception as exc:
            results["second"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    wait_for(lambda: second_pid and waiting_on_a_lock(second_pid[0]))
    commit_first.set()
    for thread in threads:
        thread.join(30)

    assert isinstance(results["first"], GuaranteeDraw), results
    refused = results["second"]
    assert isinstance(refused, ValidationError), results
    assert "this movement puts" in refused.message_dict["guarantee_reference"][0]
    # One draw, and the balance is what it left: never below zero.
    assert GuaranteeDraw.objects.get().declaration_id == movements[0].pk
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount - at_stake
    assert not Guarantee.objects.filter(balance__lt=0).exists()
