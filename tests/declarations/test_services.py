import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from agencies.models import Inspection, Review
from clearance.services import declaration_submit
from core.exceptions import InvalidTransition
from core.states import check_table
from declarations.models import Declaration, DeclarationEvent, Payment
from declarations.services import declaration_create, declaration_transition
from risk.models import ModelVersion, RiskJob, RuleSet
from tests.factories import header_data, item_data, make_declaration

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", [Declaration, Review, Inspection, Payment, RuleSet, ModelVersion, RiskJob]
)
def test_every_status_has_a_row_in_the_transition_table(model):
    check_table(model)


def test_only_a_trader_creates_declarations(cast):
    with pytest.raises(PermissionDenied):
        declaration_create(actor=cast.customs_officer, header=header_data(), items=[item_data()])


def test_errors_name_the_item_and_field(cast):
    with pytest.raises(ValidationError) as error:
        declaration_create(
            actor=cast.trader_a,
            header=header_data(currency="usd"),
            items=[item_data(), item_data(hs_code="1234", unit="kilo")],
        )
    assert set(error.value.message_dict) == {"currency", "items[1].hs_code", "items[1].unit"}
    assert Declaration.objects.count() == 0


def test_submit_records_who_and_when(cast, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    declaration.refresh_from_db()
    assert declaration.status == "submitted"
    assert declaration.submitted_at is not None
    event = declaration.events.order_by("seq").last()
    assert (event.actor, event.from_status, event.to_status) == (
        cast.trader_a,
        "draft",
        "submitted",
    )


def test_another_company_cannot_submit(cast):
    declaration = make_declaration(actor=cast.trader_a)
    with pytest.raises(PermissionDenied):
        declaration_submit(declaration=declaration, actor=cast.trader_b)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "released"),
        ("draft", "under_review"),
        ("released", "held"),
        ("cancelled", "draft"),
    ],
)
def test_moves_outside_the_table_are_refused_and_change_nothing(cast, start, target):
    declaration = make_declaration(actor=cast.trader_a)
    Declaration.objects.filter(pk=declaration.pk).update(status=start)
    events = declaration.events.count()
    with pytest.raises(InvalidTransition):
        declaration_transition(declaration_id=declaration.pk, to_status=target, actor=cast.admin)
    declaration.refresh_from_db()
    assert declaration.status == start
    assert declaration.events.count() == events


def test_audit_chain_links_each_entry_to_the_previous(cast, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    first, second = declaration.events.order_by("seq")
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    call_command("audit_verify")


def test_the_audit_trail_refuses_updates_and_deletes(cast):
    declaration = make_declaration(actor=cast.trader_a)
    event = declaration.events.get()
    for statement in ("UPDATE {t} SET reason = 'x' WHERE id = %s", "DELETE FROM {t} WHERE id = %s"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(t=DeclarationEvent._meta.db_table), [event.pk])


def test_audit_verify_names_the_first_tampered_entry(cast, django_capture_on_commit_callbacks):
    declaration = make_declaration(actor=cast.trader_a)
    with django_capture_on_commit_callbacks(execute=False):
        declaration_submit(declaration=declaration, actor=cast.trader_a)
    tampered = declaration.events.get(seq=2)
    table = DeclarationEvent._meta.db_table
    with connection.cursor() as cursor:
        # What an attacker with the table owner's rights would do.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER declarations_event_append_only")
        cursor.execute(f"UPDATE {table} SET reason = 'nothing to see' WHERE id = %s", [tampered.pk])
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER declarations_event_append_only")
    with pytest.raises(CommandError, match=rf"event {tampered.pk} .*entry #2.*does not match"):
        call_command("audit_verify")
