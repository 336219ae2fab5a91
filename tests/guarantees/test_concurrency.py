"""Two movements drawing on one guarantee at once cannot take more than it holds."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from clearance.services import declaration_lodge, transit_at_stake
from declarations.duties import import_duties
from declarations.models import Declaration, Item
from guarantees.models import Guarantee, GuaranteeDraw
from tests.conftest import wait_for
from tests.factories import item_data
from tests.guarantees.conftest import guarantee_accept, transit_header

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_on_a_lock(thread_pid: int) -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [thread_pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_a_second_movement_waits_for_the_first_draw_and_is_refused_what_it_took(cast, posted):
    items = [item_data()]
    probe = Declaration(**transit_header(items))
    lines = [Item(line_no=n, **item) for n, item in enumerate(items, 1)]
    at_stake = import_duties(probe, lines, on=timezone.localdate()).total
    # Enough for one movement, not for two.
    guarantee = guarantee_accept(
        company=cast.company_a,
        proposer=posted.departure,
        approver=posted.supervisor,
        amount=at_stake * 3 / 2,
    )
    first_drawn, commit_first = threading.Event(), threading.Event()
    second_pid, results = [], {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = declaration_lodge(
                    actor=cast.trader_a, header=transit_header(items), items=items
                )
                first_drawn.set()
                # Hold the guarantee's lock until the second movement waits for it.
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
            # Its checks read the committed balance, still whole; the draw then waits.
            results["second"] = declaration_lodge(
                actor=cast.trader_a, header=transit_header(items), items=items
            )
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

    assert isinstance(results["first"], Declaration), results
    refused = results["second"]
    assert isinstance(refused, ValidationError), results
    assert "this movement puts" in refused.message_dict["guarantee_reference"][0]
    # One movement stored, one draw, and the balance is what one draw left.
    [stored] = Declaration.objects.all()
    assert GuaranteeDraw.objects.get().declaration_id == stored.pk
    guarantee.refresh_from_db()
    assert guarantee.balance == guarantee.amount - transit_at_stake(stored)
    assert guarantee.balance >= 0
    assert Guarantee.objects.filter(balance__lt=0).count() == 0
