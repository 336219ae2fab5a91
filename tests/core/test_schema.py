"""The OpenAPI schema says what the API answers: checked by reading it, and by
schemathesis calling every operation as several roles and holding each answer
to the schema."""

from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import api_token_issue
from agencies.models import LaneChangeProposal, Permit, Query, Review
from declarations.models import Declaration
from emergencies.models import Emergency, EmergencyProposal, HumanitarianConsignee
from guarantees.models import Guarantee, GuaranteeProposal
from relief.models import JointInspection
from risk.models import RiskJob, RiskSettingsProposal, RuleSet, SelectivityRule
from supplies.models import PreNotification, SupplyNeed, SupplyPledge

PAGINATED_LISTS = [
    "/api/v1/declarations/",
    "/api/v1/reviews/",
    "/api/v1/permits/",
    "/api/v1/queries/",
    "/api/v1/lane-proposals/",
    "/api/v1/notifications/",
    "/api/v1/users/",
    "/api/v1/emergencies/",
    "/api/v1/emergency-proposals/",
    "/api/v1/humanitarian-consignees/",
    "/api/v1/joint-inspections/",
]


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def resolve(openapi: dict, schema: dict) -> dict:
    while "$ref" in schema or "allOf" in schema:
        if "allOf" in schema:
            schema = schema["allOf"][0]
        else:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = openapi["components"]["schemas"][name]
    return schema


def response_schema(openapi: dict, path: str, method: str = "get", code: str = "200") -> dict:
    content = openapi["paths"][path][method]["responses"][code]["content"]
    return resolve(openapi, content["application/json"]["schema"])


def test_the_schema_validates_without_a_warning(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


@pytest.mark.parametrize("path", PAGINATED_LISTS)
def test_paginated_lists_are_documented_as_the_page_they_answer(openapi, path):
    page = response_schema(openapi, path)
    assert page["type"] == "object"
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"
    assert {"count", "results"} <= set(page["required"])
    parameters = {p["name"] for p in openapi["paths"][path]["get"].get("parameters", [])}
    assert {"page", "page_size"} <= parameters


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("ReviewListOutput", "assigned_to"),  # unclaimed
        ("ReviewDetailOutput", "decided_by"),  # undecided
        ("QueryOutput", "answered_by"),  # unanswered
        ("DocumentOutput", "item"),  # a document of the whole declaration
        ("Event", "actor"),  # the system's own steps
        ("InspectionOutput", "recorded_by"),  # ordered, not yet recorded
        ("LaneProposalOutput", "decided_by"),  # waiting
        ("PermitStaffOutput", "review"),  # issued ahead of any declaration
    ],
)
def test_fields_that_can_be_null_are_documented_nullable(openapi, component, field):
    schema = openapi["components"]["schemas"][component]["properties"][field]
    assert schema.get("nullable") is True, schema


def test_errors_are_documented_with_their_body(openapi):
    lodge = openapi["paths"]["/api/v1/declarations/"]["post"]["responses"]
    assert {"400", "401", "403", "409", "422"} <= set(lodge)
    invalid = response_schema(openapi, "/api/v1/declarations/", "post", "400")
    assert {"detail", "fields"} <= set(invalid["properties"])

    detail = openapi["paths"]["/api/v1/declarations/{id}/"]["get"]["responses"]
    assert {"401", "404"} <= set(detail)
    assert response_schema(openapi, "/api/v1/declarations/{id}/", "get", "404")["required"] == [
        "detail"
    ]
    # An explicit description keeps its words and gets the body.
    claim = response_schema(openapi, "/api/v1/reviews/{id}/claim/", "post", "409")
    assert "detail" in claim["properties"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/declarations/abc/", "/api/v1/no-such-thing/"])
def test_an_api_address_that_names_nothing_answers_json(cast, api, path):
    # Found by schemathesis with invalid path parameters: Django's HTML 404 page.
    response = api.as_user(cast.trader_a).get(path)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_names_nothing_is_still_a_page(client):
    response = client.get("/declarations/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- schemathesis over the whole schema -------------------------------------------

ROLES = ["trader_a", "customs_officer", "analyst", "admin"]
EXAMPLES_PER_OPERATION = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Where a path's {id} points, to aim most generated ids at a real object.
ID_MODELS = [
    ("/api/v1/declarations/", Declaration),
    ("/api/v1/reviews/", Review),
    ("/api/v1/permits/", Permit),
    ("/api/v1/queries/", Query),
    ("/api/v1/lane-proposals/", LaneChangeProposal),
    ("/api/v1/risk/rule-sets/", RuleSet),
    ("/api/v1/risk/rules/", SelectivityRule),
    ("/api/v1/risk/settings/proposals/", RiskSettingsProposal),
    ("/api/v1/risk/jobs/", RiskJob),
    ("/api/v1/risk/held/", Declaration),
    ("/api/v1/users/", User),
    ("/api/v1/guarantees/", Guarantee),
    ("/api/v1/guarantee-proposals/", GuaranteeProposal),
    ("/api/v1/movements/", Declaration),
    ("/api/v1/emergencies/", Emergency),
    ("/api/v1/emergency-proposals/", EmergencyProposal),
    ("/api/v1/humanitarian-consignees/", HumanitarianConsignee),
    ("/api/v1/prenotifications/", PreNotification),
    ("/api/v1/supply-needs/", SupplyNeed),
    ("/api/v1/supply-pledges/", SupplyPledge),
    ("/api/v1/joint-inspections/", JointInspection),
]


@pytest.fixture
def seeded(cast, django_capture_on_commit_callbacks):
    """A few objects of every kind, so that detail routes find something."""
    from clearance.services import declaration_lodge, declaration_submit, review_query
    from emergencies.services import consignee_register, emergency_declare_propose
    from risk.jobs import risk_job_create
    from risk.services import risk_settings_propose, rule_create, rule_set_draft_create
    from tests.factories import item_data, make_declaration, permit_citations, route
    from tests.guarantees.conftest import guarantee_accept, transit_header

    # The risk task queued on commit is not wanted: the lane is given directly.
    with django_capture_on_commit_callbacks(execute=False):
        make_declaration(actor=cast.trader_a, invoice_number="INV-DRAFT")
        for n, (hs_code, lane) in enumerate([("020130", "yellow"), ("080510", "green")]):
            item = item_data(hs_code=hs_code)
            item["permits"] = permit_citations(item, holder=cast.company_a)
            declaration = make_declaration(
                actor=cast.trader_a, items=[item], invoice_number=f"INV-SCHEMA-{n}"
            )
            declaration_submit(declaration=declaration, actor=cast.trader_a)
            route(declaration, lane=lane)
        review = Review.objects.filter(agency=cast.food).first()
        review_query(review_id=review.pk, actor=cast.food_officer, question="Which farm?")
        rule_set = rule_set_draft_create(actor=cast.analyst, note="schema test")
        rule_create(
            actor=cast.analyst, rule_set=rule_set, name="Phones", hs_prefix="8517", score=10
        )
        risk_settings_propose(actor=cast.analyst, reason="schema test", red_from=90)
        risk_job_create(kind=RiskJob.Kind.RETRAIN, params={}, actor=cast.analyst)
        # A transit movement under company A's guarantee, cleared at the officer's office.
        cast.customs_officer.offices.set(["KRPUS"])
        guarantee_accept(
            company=cast.company_a, proposer=cast.customs_officer, approver=cast.supervisor
        )
        items = [item_data()]
        movement = declaration_lodge(actor=cast.trader_a, header=transit_header(items), items=items)
        route(movement, lane="green")
        # An emergency waiting for a second administrator; company A asking to be a
        # humanitarian consignee.
        now = timezone.now()
        emergency_declare_propose(
            actor=cast.admin, office_codes=["KRPUS"], reason="schema test", name="Flood",
            starts_at=now, ends_at=now + timedelta(days=3), hs_prefixes=["3004"],
        )  # fmt: skip
        consignee_register(actor=cast.trader_a, kind="ngo", mission="schema test")
        relief_seeded(cast)
        provisional_and_joint_seeded(cast)
    return cast


def relief_seeded(cast):
    """An emergency in force at Busan for which company B is a humanitarian consignee
    (company A only asks to be one), with one pre-notification, a need and a pledge."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from supplies.services import prenotification_file, supply_need_add, supply_pledge_record

    now = timezone.now()
    emergency = Emergency.objects.create(
        name="Schema typhoon", status="active", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=30), hs_prefixes=["3004", "6306"],
    )  # fmt: skip
    emergency.offices.set(["KRPUS"])
    HumanitarianConsignee.objects.create(
        company=cast.company_b, kind="ngo", mission="schema test", status="approved",
        requested_by=cast.admin, requested_at=now, decided_by=cast.admin, decided_at=now,
    )  # fmt: skip
    prenotification_file(
        actor=cast.trader_b, emergency_id=emergency.pk, consignee_tax_id=cast.company_b.tax_id,
        office_code="KRPUS", sender_name="Donor", sender_country="JP", transport_mode="4",
        transport_document="AWB-SCHEMA-1", expected_arrival=now + timedelta(days=1),
        lines=[{"hs_code": "300490", "description": "Medicines", "quantity": Decimal("10"),
                "unit": "NAR"}],
    )  # fmt: skip
    need = supply_need_add(
        actor=cast.admin, emergency_id=emergency.pk, hs_prefix="3004", label="Medicines",
        target_quantity=Decimal("1000"), unit="NAR",
    )  # fmt: skip
    supply_pledge_record(
        actor=cast.admin, need_id=need.pk, partner_country="JP", partner_administration="Japan",
        quantity=Decimal("10"), expected_on=now.date(),
    )  # fmt: skip


def provisional_and_joint_seeded(cast) -> None:
    """Documents owed by a declaration of A's, and a joint inspection of food and plant
    on it at the customs officer's office (made directly: only their shapes matter)."""
    from django.utils import timezone

    from relief.models import JointInspectionAgency, OwedDocument, ProvisionalDeclaration

    now = timezone.now()
    emergency = Emergency.objects.get(name="Schema typhoon")
    declaration = Declaration.objects.filter(items__hs_code="080510").first()
    provisional = ProvisionalDeclaration.objects.create(
        declaration=declaration, emergency=emergency, opened_at=now, due_at=now
    )
    OwedDocument.objects.create(provisional=provisional, kind="invoice", description="Invoice")
    joint = JointInspection.objects.create(declaration=declaration, office="KRPUS", offered_at=now)
    for review in declaration.reviews.filter(agency__in=[cast.food, cast.plant]):
        JointInspectionAgency.objects.create(
            joint_inspection=joint, review=review, agency=review.agency
        )


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, on the test transaction.

    Django closes the connection at the end of each request; inside the test's
    transaction that would roll everything back, so (as Django's own test
    client does) the connection stays open for the test.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def api_schema(*, user, app):
    """The schema, called with a token of the user's; returns it and the token."""
    token, key = api_token_issue(user=user, name="schemathesis")
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Token {key}"},
            "generation": {"with-security-parameters": False},
        }
    )
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, config=config)
    return token, schema.exclude(
        # The bank's notification is signed with HMAC over the raw body; without the
        # signature every call is refused before anything else runs. Its own tests
        # (tests/payments/test_notifications.py) cover it.
        path="/api/v1/payments/notifications/",
    )


def aim_at_seeded_objects(case, *, token) -> None:
    """Most generated ids name nothing (404); send three in four to an existing object.

    A token id names another token of the same user, issued for the call: revoking
    the token the calls are made with would leave the rest of the run unauthenticated.
    """
    generated = (case.path_parameters or {}).get("id")
    if not isinstance(generated, int) or generated % 4 == 0:
        return
    if case.path.startswith("/api/v1/auth/tokens/"):
        spare, _ = api_token_issue(user=token.user, name="spare")
        case.path_parameters["id"] = spare.pk
        return
    model = next((m for prefix, m in ID_MODELS if case.path.startswith(prefix)), None)
    ids = sorted(model.objects.values_list("pk", flat=True)) if model else []
    if ids:
        case.path_parameters["id"] = ids[generated % len(ids)]


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented(role, seeded, wsgi_app):
    """Each operation, called with generated input as this role: never a server error,
    and every answer (status, content type, body, headers) as the schema documents it.
    The trader, whose software is outside our hands, also sends input the schema
    says is invalid."""
    token, schema = api_schema(user=getattr(seeded, role), app=wsgi_app)
    modes = [GenerationMode.POSITIVE]
    if role == "trader_a":
        modes.append(GenerationMode.NEGATIVE)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in modes:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case):
                aim_at_seeded_objects(case, token=token)
                case.call_and_validate(checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                # No parameter and no body: nothing can be made invalid.
                if mode is GenerationMode.POSITIVE:
                    raise
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations > 50
    assert not failures, "\n\n".join(failures)
