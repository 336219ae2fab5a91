"""Every URL of the project, every role, objects of another company, agency or office: 404.

The test walks django.urls.get_resolver(), so a new route is covered as soon
as it exists. A route whose path takes an object id must be registered in
OBJECT_ROUTES below with the kind of object its id names (or in
AUDITOR_ROUTES / OWN_ROUTES when it is meant for other roles too); an
unregistered one fails test_every_route_is_registered, naming it.

To register a new kind of object, create one in the `world` fixture and add
a function to FOREIGN that returns, for a user, the URL kwargs naming an
object of that kind the user must not see (or None when the user may see
every object of the kind, e.g. an auditor), then list the route name in
OBJECT_ROUTES with that kind.
"""

from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.services import api_token_issue
from clearance.services import review_query
from tests.agencies.conftest import MEAT, ORANGES, review_of
from tests.conftest import login_request
from tests.devices.conftest import movement as sealed_movement
from tests.factories import make_declaration

pytestmark = pytest.mark.django_db

ROLES = [
    "trader_a",
    "trader_b",
    "customs_officer",
    "food_officer",
    "plant_officer",
    "supervisor",
    "analyst",
    "admin",
]
# Customs staff posted elsewhere than the world's declarations enter (KRPUS): every
# review, document, payment and lane proposal of KRPUS is another office's to them.
ELSEWHERE = ["incheon_officer", "incheon_supervisor"]

# Route name -> the kind of object its <pk> names.
OBJECT_ROUTES: dict[str, str] = {
    "declarations:detail": "declaration",
    "declarations:submit": "declaration",
    "declarations:edit": "declaration",
    "declarations:amend": "declaration",
    "declarations:cancel": "declaration",
    "declarations:pay": "declaration",
    "declarations:document-upload": "declaration",
    "declarations:document": "document",
    "declarations:invoice-check": "declaration",
    "api:declaration-detail": "declaration",
    "api:declaration-submit": "declaration",
    "api:declaration-item-add": "declaration",
    "api:declaration-amend": "declaration",
    "api:declaration-cancel": "declaration",
    "api:declaration-pay": "declaration",
    "api:declaration-documents": "declaration",
    "api:declaration-document": "document",
    "api:declaration-document-reading": "document",
    "risk:rule-set": "rule_set",
    "risk:rule-set-submit": "rule_set",
    "risk:rule-set-approve": "rule_set",
    "risk:rule-set-send-back": "rule_set",
    "risk:settings-approve": "settings_proposal",
    "risk:settings-reject": "settings_proposal",
    "risk:rule-create": "rule_set",
    "risk:rule-edit": "rule",
    "risk:job": "risk_job",
    "api:risk-rule-set": "rule_set",
    "api:risk-rule-set-submit": "rule_set",
    "api:risk-rule-set-approve": "rule_set",
    "api:risk-rule-set-send-back": "rule_set",
    "api:risk-settings-approve": "settings_proposal",
    "api:risk-settings-reject": "settings_proposal",
    "api:risk-rule-create": "rule_set",
    "api:risk-rule": "rule",
    "api:risk-job": "risk_job",
    "api:risk-held-route": "declaration",
    "agencies:review": "review",
    "agencies:review-claim": "review",
    "agencies:review-approve": "review",
    "agencies:review-reject": "review",
    "agencies:review-query": "review",
    "agencies:review-inspection": "review",
    "agencies:review-permit": "review",
    "agencies:review-lane": "review",
    "agencies:review-detention": "review",
    "api:review-detail": "review",
    "api:review-claim": "review",
    "api:review-approve": "review",
    "api:review-reject": "review",
    "api:review-query": "review",
    "api:review-inspection": "review",
    "api:review-permit": "review",
    "api:review-lane": "review",
    "api:review-detention": "review",
    "agencies:lane-proposal-approve": "lane_proposal",
    "agencies:lane-proposal-refuse": "lane_proposal",
    "api:lane-proposal-approve": "lane_proposal",
    "api:lane-proposal-refuse": "lane_proposal",
    "agencies:query-answer": "query",
    "api:query-detail": "query",
    "api:query-answer": "query",
    "agencies:permit": "permit",
    "agencies:permit-revoke": "permit",
    "api:permit-detail": "permit",
    "api:permit-revoke": "permit",
    "agencies:jurisdiction-edit": "jurisdiction_rule",
    "agencies:jurisdiction-delete": "jurisdiction_rule",
    "payments:receipt": "payment",
    "exports:confirm": "export",
    "api:exit-detail": "export",
    "api:exit-confirm": "export",
    "api:token-revoke": "api_token",
    "api-token-revoke": "api_token",
    "api:user-detail": "user",
    "api:office-detail": "office",
    "guarantees:detail": "guarantee",
    "guarantees:raise": "guarantee",
    "api:guarantee-detail": "guarantee",
    "api:guarantee-raise": "guarantee",
    "guarantees:proposal-approve": "guarantee_proposal",
    "guarantees:proposal-refuse": "guarantee_proposal",
    "api:guarantee-proposal-approve": "guarantee_proposal",
    "api:guarantee-proposal-refuse": "guarantee_proposal",
    "clearance:movement": "movement",
    "clearance:movement-release": "movement",
    "clearance:movement-arrival": "movement",
    "clearance:movement-control": "movement",
    "clearance:movement-resolve": "movement",
    "clearance:movement-discharge": "movement",
    "api:movement-detail": "movement",
    "api:movement-release": "movement",
    "api:movement-arrival": "movement",
    "api:movement-control": "movement",
    "api:movement-resolve": "movement",
    "api:movement-discharge": "movement",
    "continuity:office": "continuity_office",
    "continuity:office-close": "continuity_office",
    "continuity:office-reopen": "continuity_office",
    "continuity:office-divert": "continuity_office",
    "continuity:fallback-approve": "planned_fallback",
    "continuity:fallback-refuse": "planned_fallback",
    "continuity:rescore-job": "rescore_job",
    "api:continuity-office": "continuity_office",
    "api:continuity-office-close": "continuity_office",
    "api:continuity-office-reopen": "continuity_office",
    "api:continuity-office-divert": "continuity_office",
    "api:continuity-fallback-approve": "planned_fallback",
    "api:continuity-fallback-refuse": "planned_fallback",
    "api:continuity-rescore-job": "rescore_job",
    "emergencies:detail": "emergency",
    "emergencies:extend": "emergency",
    "emergencies:end": "emergency",
    "emergencies:proposal-approve": "emergency_proposal",
    "emergencies:proposal-refuse": "emergency_proposal",
    "emergencies:consignee-decide": "consignee",
    "api:emergency-detail": "emergency",
    "api:emergency-extend": "emergency",
    "api:emergency-end": "emergency",
    "api:emergency-proposal-approve": "emergency_proposal",
    "api:emergency-proposal-refuse": "emergency_proposal",
    "api:consignee-detail": "consignee",
    "api:consignee-decide": "consignee",
    "emergencies:report": "emergency_report",
    "emergencies:report-csv": "emergency_report",
    "emergencies:report-pdf": "emergency_report",
    "supplies:prenotification": "prenotification",
    "supplies:prenotification-cancel": "prenotification",
    "api:prenotification-detail": "prenotification",
    "api:prenotification-cancel": "prenotification",
    "supplies:register": "supplies",
    "supplies:register-csv": "supplies",
    "api:emergency-supplies": "supplies",
    "api:emergency-relief-consignments": "supplies",
    "supplies:need-add": "supplies_admin",
    "supplies:pledge-add": "supplies_admin",
    "api:emergency-supply-need-add": "supplies_admin",
    "api:emergency-supply-pledge-add": "supplies_admin",
    "supplies:need-change": "supply_need",
    "supplies:need-remove": "supply_need",
    "api:supply-need": "supply_need",
    "api:supply-need-remove": "supply_need",
    "supplies:pledge-status": "supply_pledge",
    "api:supply-pledge-status": "supply_pledge",
    "relief:owed-supply": "owed_document",
    "api:documents-owed": "provisional_declaration",
    "api:documents-owed-supply": "owed_document",
    "relief:joint-inspection": "joint_inspection",
    "relief:joint-inspection-book": "joint_inspection",
    "relief:joint-inspection-record": "joint_inspection",
    "relief:joint-inspection-cancel": "joint_inspection",
    "api:joint-inspection-detail": "joint_inspection",
    "api:joint-inspection-book": "joint_inspection",
    "api:joint-inspection-record": "joint_inspection",
    "api:joint-inspection-cancel": "joint_inspection",
    "devices:movement": "sealed_movement",
    "devices:movement-monitoring": "sealed_movement",
}

# Routes that take no object id and need no login.
PUBLIC_ROUTES = {"login", "logout", "health", "api:token", "schema", "api-docs"}

# Prefixes walked elsewhere: Django's admin is staff-only (test_admin_is_closed...).
EXCLUDED_PREFIXES = ("admin/",)


def walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield prefix + str(pattern.pattern), name, pattern


def project_routes() -> list[tuple[str, str | None, URLPattern]]:
    return [
        (route, name, pattern)
        for route, name, pattern in walk(get_resolver().url_patterns)
        if not route.startswith(EXCLUDED_PREFIXES)
    ]


def takes_arguments(pattern: URLPattern) -> bool:
    return bool(getattr(pattern.pattern, "converters", None)) or bool(pattern.pattern.regex.groups)


def test_every_route_is_registered():
    unnamed = [route for route, name, _ in project_routes() if not name]
    unregistered = [
        f"{name} ({route})"
        for route, name, pattern in project_routes()
        if name and takes_arguments(pattern) and name not in OBJECT_ROUTES
    ]
    assert not unnamed, f"routes without a name cannot be checked: {unnamed}"
    assert not unregistered, (
        "routes taking an object id that the access matrix does not know how to fill; "
        f"register them in tests/agencies/test_access_matrix.py OBJECT_ROUTES: {unregistered}"
    )


@pytest.fixture
def world(cast, reviewed, django_capture_on_commit_callbacks):
    """Objects of company A and of company B, reviewed by customs, food and plant."""
    from agencies.services import jurisdiction_rule_create

    of_a = reviewed(hs_codes=(MEAT, ORANGES))
    of_b = reviewed(hs_codes=(MEAT, ORANGES), actor=cast.trader_b)
    query_a = review_query(
        review_id=review_of(of_a, cast.food).pk, actor=cast.food_officer, question="Which plant?"
    )
    query_b = review_query(
        review_id=review_of(of_b, cast.plant).pk, actor=cast.plant_officer, question="Origin?"
    )
    rule = jurisdiction_rule_create(agency=cast.food, hs_prefix="0406", permit_type="Cheese")
    from agencies.models import Permit
    from reference.models import Office
    from tests.factories import UserFactory

    return {
        "incheon_officer": UserFactory(
            username="incheon_officer", role="officer", agency=cast.customs, offices=["KRICN"]
        ),
        "incheon_supervisor": UserFactory(
            username="incheon_supervisor",
            role="supervisor",
            agency=cast.customs,
            offices=["KRICN", "KRINC"],
        ),
        # A closed office: no declaration may name it any more.
        "closed_office": Office.objects.create(
            code="KRZZZ", name="Closed post", country="KR", kind="land", active=False
        ),
        # Issued ahead, for the items the declarations above cite.
        "food_permit_a": Permit.objects.filter(agency=cast.food, holder=cast.company_a).first(),
        "plant_permit_b": Permit.objects.filter(agency=cast.plant, holder=cast.company_b).first(),
        "a": of_a,
        "b": of_b,
        "query_a": query_a,
        "query_b": query_b,
        "rule": rule,
        # Objects of the other owners' apps, made directly: only their ids matter here.
        "document_a": document_of(of_a),
        # Agency staff may read the documents of declarations their agency reviews
        # (customs reviews every one), so theirs to miss is on a draft.
        "document_draft_b": document_of(
            make_declaration(actor=cast.trader_b, invoice_number="INV-MATRIX-DRAFT")
        ),
        "payment_a": payment_of(of_a),
        "payment_b": payment_of(of_b),
        "lane_proposal": lane_proposal_of(of_a, cast.supervisor),
        "api_token_a": api_token_issue(user=cast.trader_a)[0],
        "api_token_b": api_token_issue(user=cast.trader_b)[0],
        "export": export_leaving_elsewhere(cast, django_capture_on_commit_callbacks),
        **risk_objects(cast),
        **transit_objects(cast),
        **continuity_objects(cast),
        "emergency": emergency_proposed(cast),
        **supplies_objects(cast),
        **consignees(cast),
        **relief_objects(cast, of_a, of_b),
    }


def continuity_objects(cast) -> dict:
    """A planned fallback waiting for a second administrator, and a re-scoring job."""
    from django.utils import timezone

    from risk.models import PlannedFallback, RiskJob

    return {
        "planned_fallback": PlannedFallback.objects.create(
            mode="rules_only", reason="matrix", proposed_by=cast.admin, proposed_at=timezone.now()
        ),
        "rescore_job": RiskJob.objects.create(kind="rescore", requested_by=cast.admin),
    }


def consignees(cast) -> dict:
    """Companies A and B, each asking to be a humanitarian consignee."""
    from emergencies.services import consignee_register

    return {
        f"consignee_{key}": consignee_register(actor=trader, kind="ngo", mission="matrix")
        for key, trader in (("a", cast.trader_a), ("b", cast.trader_b))
    }


def relief_objects(cast, of_a, of_b) -> dict:
    """Documents owed by A's and by B's declaration, and joint inspections: food and
    plant on A's at KRPUS, customs with one agency on A's (called off), customs and
    food on B's at KRICN."""
    from django.utils import timezone

    from emergencies.models import Emergency
    from relief.models import (
        JointInspection,
        JointInspectionAgency,
        OwedDocument,
        ProvisionalDeclaration,
    )

    now = timezone.now()
    emergency = Emergency.objects.get(name="Flood")
    owed = {}
    for key, declaration in (("owed_a", of_a), ("owed_b", of_b)):
        provisional = ProvisionalDeclaration.objects.create(
            declaration=declaration, emergency=emergency, opened_at=now, due_at=now
        )
        owed[key] = OwedDocument.objects.create(
            provisional=provisional, kind="invoice", description="Commercial invoice"
        )

    def joint(declaration, office, agencies, status="offered"):
        made = JointInspection.objects.create(
            declaration=declaration, office=office, offered_at=now, status=status
        )
        for agency in agencies:
            JointInspectionAgency.objects.create(
                joint_inspection=made, agency=agency, review=review_of(declaration, agency)
            )
        return made

    return {
        **owed,
        "joint_food_plant": joint(of_a, "KRPUS", [cast.food, cast.plant]),
        "joint_customs_food": joint(of_a, "KRPUS", [cast.customs, cast.food], "cancelled"),
        "joint_customs_plant": joint(of_a, "KRPUS", [cast.customs, cast.plant], "cancelled"),
        "joint_elsewhere": joint(of_b, "KRICN", [cast.customs, cast.food]),
    }


def emergency_proposed(cast):
    from datetime import timedelta

    from django.utils import timezone

    from emergencies.services import emergency_declare_propose

    now = timezone.now()
    proposal = emergency_declare_propose(
        actor=cast.admin, office_codes=["KRPUS"], reason="Flood", name="Flood",
        starts_at=now, ends_at=now + timedelta(days=3), hs_prefixes=["3004"],
    )  # fmt: skip
    return proposal.emergency


def supplies_objects(cast) -> dict:
    """Relief announced at Ulsan, where nobody of the cast is posted, for a consignee none
    of the cast belongs to; a need and a pledge of the register (made directly: only
    their ids matter here)."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from emergencies.models import Emergency, HumanitarianConsignee
    from supplies.models import PreNotification, PreNotificationLine, SupplyNeed, SupplyPledge
    from tests.factories import CompanyFactory

    now = timezone.now()
    emergency = Emergency.objects.create(
        name="Matrix flood", status="active", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3), hs_prefixes=["3004"],
    )  # fmt: skip
    emergency.offices.set(["KRUSN"])
    consignee = HumanitarianConsignee.objects.create(
        company=CompanyFactory(name="Matrix Relief"), kind="ngo", mission="matrix",
        status="approved", requested_by=cast.admin, requested_at=now, decided_by=cast.admin,
        decided_at=now,
    )  # fmt: skip
    prenotification = PreNotification.objects.create(
        emergency=emergency, consignee=consignee, sender_name="Donor", sender_country="JP",
        transport_mode="4", transport_document="AWB-MATRIX", transport_document_key="AWBMATRIX",
        expected_arrival=now + timedelta(days=1), office_id="KRUSN", filed_by=cast.admin,
    )  # fmt: skip
    PreNotificationLine.objects.create(
        prenotification=prenotification, line_no=1, hs_code="300490", description="Medicines",
        quantity=Decimal("10"), unit="NAR",
    )  # fmt: skip
    need = SupplyNeed.objects.create(
        emergency=emergency, hs_prefix="3004", label="Medicines", target_quantity=100,
        unit="NAR", updated_by=cast.admin,
    )  # fmt: skip
    pledge = SupplyPledge.objects.create(
        need=need, partner_country="JP", partner_administration="Japan Customs", quantity=10,
        expected_on=now.date(), recorded_by=cast.admin,
    )  # fmt: skip
    return {
        "prenotification": prenotification,
        "supplies_emergency": emergency,
        "supply_need": need,
        "supply_pledge": pledge,
    }


def transit_objects(cast) -> dict:
    """A guarantee of each company, and a movement of A between offices none of the cast
    works at (Pyeongtaek to Seoul)."""
    from clearance.services import declaration_lodge
    from tests.factories import item_data
    from tests.guarantees.conftest import guarantee_accept, transit_header

    def accept(company, reference):
        return guarantee_accept(
            company=company, proposer=cast.customs_officer, approver=cast.supervisor,
            reference=reference,
        )  # fmt: skip

    guarantee_a = accept(cast.company_a, "GRT-A-0001")
    items = [item_data()]
    header = transit_header(items, office_of_departure="KRPTK", itinerary=[])
    return {
        "guarantee_a": guarantee_a,
        "guarantee_b": accept(cast.company_b, "GRT-B-0001"),
        "guarantee_proposal": guarantee_a.proposals.get(),
        "movement": declaration_lodge(actor=cast.trader_a, header=header, items=items),
        # Released under seal at Pyeongtaek for Seoul, its track and alerts followed by
        # the customs staff of those offices alone.
        "sealed_movement": sealed_movement(
            cast.trader_a, departure="KRPTK", destination="KRSEL", itinerary=[]
        ),
    }


def export_leaving_elsewhere(cast, capture):
    """A lodged export leaving by Ulsan, where none of the cast is posted."""
    from clearance.services import declaration_submit
    from tests.factories import make_export

    export = make_export(actor=cast.trader_a, office_of_exit="KRUSN", invoice_number="EX-MATRIX")
    with capture(execute=False):
        return declaration_submit(declaration=export, actor=cast.trader_a)


def lane_proposal_of(declaration, supervisor):
    from django.utils import timezone

    from agencies.models import LaneChangeProposal

    return LaneChangeProposal.objects.create(
        declaration=declaration,
        from_lane="yellow",
        to_lane="green",
        reason="matrix",
        proposed_by=supervisor,
        proposed_at=timezone.now(),
    )


def document_of(declaration):
    from django.utils import timezone

    from declarations.models import Document

    return Document.objects.create(
        declaration=declaration,
        kind="invoice",
        file=f"documents/matrix/{declaration.pk}",
        original_name="invoice.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        uploaded_by=declaration.created_by,
        uploaded_at=timezone.now(),
    )


def payment_of(declaration):
    """A confirmed payment, so that its receipt exists for those who may see it."""
    from django.utils import timezone

    from declarations.models import Payment

    now = timezone.now()
    return Payment.objects.create(
        declaration=declaration,
        status="confirmed",
        reference=f"PAY-MATRIX-{declaration.pk}",
        amount=1,
        currency="KRW",
        recorded_by=declaration.created_by,
        paid_at=now,
        confirmed_at=now,
        source="bank",
        bank_reference="BANK-MATRIX",
        receipt_number=f"RCT-MATRIX-{declaration.pk}",
    )


def risk_objects(cast) -> dict:
    from django.utils import timezone

    from risk.models import RiskJob, RiskSettingsProposal, RuleSet, SelectivityRule

    rule_set = RuleSet.objects.create(version=990, note="matrix")
    proposal = RiskSettingsProposal.objects.create(
        values={}, reason="matrix", proposed_by=cast.analyst, proposed_at=timezone.now()
    )
    rule = SelectivityRule.objects.create(
        rule_set=rule_set, name="matrix", hs_prefix="0201", score=10
    )
    job = RiskJob.objects.create(kind="replay", requested_by=cast.analyst)
    return {
        "rule_set": rule_set,
        "risk_rule": rule,
        "risk_job": job,
        "settings_proposal": proposal,
    }


def is_auditor(user) -> bool:
    return user.is_analyst or user.is_platform_admin


def works_elsewhere(user) -> bool:
    """Agency staff not posted at KRPUS, where the world's declarations enter."""
    return user.is_agency_staff and "KRPUS" not in user.office_codes


def foreign_declaration(cast, world, user):
    if is_auditor(user):
        return None  # auditors read every declaration
    return {"pk": (world["b"] if user == cast.trader_a else world["a"]).pk}


def foreign_document(cast, world, user):
    if is_auditor(user):
        return None
    theirs = user == cast.trader_b or works_elsewhere(user)
    document = world["document_a"] if theirs else world["document_draft_b"]
    return {"pk": document.declaration_id, "document_pk": document.pk}


def foreign_review(cast, world, user):
    if works_elsewhere(user):
        return {"pk": review_of(world["a"], user.agency).pk}
    if user.is_agency_staff and user.agency == cast.food:
        return {"pk": review_of(world["a"], cast.plant).pk}
    return {"pk": review_of(world["a"], cast.food).pk}


def foreign_query(cast, world, user):
    if user == cast.trader_a:
        query = world["query_b"]
    elif user.is_agency_staff and user.agency == cast.plant:
        query = world["query_a"]
    elif user.is_agency_staff and user.agency == cast.food:
        query = world["query_b"]
    else:
        query = world["query_a"]
    return {"pk": query.pk}


def foreign_payment(cast, world, user):
    if works_elsewhere(user):
        return {"reference": world["payment_a"].reference}
    if is_auditor(user) or user.is_agency_staff:
        return None  # agencies review both declarations; auditors read every one
    return {
        "reference": (world["payment_b"] if user == cast.trader_a else world["payment_a"]).reference
    }


def foreign_jurisdiction_rule(cast, world, user):
    return None if user.is_platform_admin else {"pk": world["rule"].pk}


def foreign_permit(cast, world, user):
    """Another company's permit, another agency's; nobody else sees any."""
    if user == cast.trader_a or (user.is_agency_staff and user.agency == cast.food):
        return {"pk": world["plant_permit_b"].pk}
    return {"pk": world["food_permit_a"].pk}


def foreign_lane_proposal(cast, world, user):
    # Lowering a lane is customs' work: its supervisors decide every proposal of the
    # offices they oversee.
    if user.role == "supervisor" and user.agency == cast.customs and not works_elsewhere(user):
        return None
    return {"pk": world["lane_proposal"].pk}


def foreign_api_token(cast, world, user):
    # A token is its owner's alone: administrators end others' in the Django admin.
    owner_b = user == cast.trader_a
    return {"pk": world["api_token_b" if owner_b else "api_token_a"].pk}


def foreign_user(cast, world, user):
    # The directory of users is the administrators'.
    return None if user.is_platform_admin else {"pk": cast.trader_b.pk}


def foreign_office(cast, world, user):
    # Active offices are reference data everyone reads; a closed one nobody does.
    return {"code": world["closed_office"].code}


def is_customs_staff(user) -> bool:
    return user.is_agency_staff and user.agency.is_customs


def foreign_guarantee(cast, world, user):
    # Customs officers keep the registry; a trader reads their company's.
    if is_customs_staff(user):
        return None
    return {"pk": world["guarantee_b" if user == cast.trader_a else "guarantee_a"].pk}


def foreign_guarantee_proposal(cast, world, user):
    return None if is_customs_staff(user) else {"pk": world["guarantee_proposal"].pk}


def foreign_movement(cast, world, user):
    # Only the customs staff of its two offices, where nobody of the cast is posted.
    return {"pk": world["movement"].pk}


def foreign_continuity_office(cast, world, user):
    # Administrators manage every office; a customs supervisor those they oversee, and
    # nobody of the cast oversees Ulsan.
    return None if user.is_platform_admin else {"code": "KRUSN"}


def admins_only(key: str) -> Callable:
    def foreign(cast, world, user):
        return None if user.is_platform_admin else {"pk": world[key].pk}

    return foreign


def foreign_sealed_movement(cast, world, user):
    # Its track is targeting: customs staff of its offices only, none of them in the cast.
    return {"pk": world["sealed_movement"].pk}


def analysts_only(key: str) -> Callable:
    def foreign(cast, world, user):
        return None if is_auditor(user) else {"pk": world[key].pk}

    return foreign


def foreign_export(cast, world, user):
    # Only customs staff posted at its office of exit see an export there.
    return {"pk": world["export"].pk}


def foreign_emergency(cast, world, user):
    # Administrators declare emergencies; everyone else reads what is in force only.
    return None if user.is_platform_admin else {"pk": world["emergency"].pk}


def foreign_emergency_proposal(cast, world, user):
    if user.is_platform_admin:
        return None
    return {"pk": world["emergency"].proposals.get().pk}


def foreign_consignee(cast, world, user):
    # Administrators keep the registry; a trader reads their company's registration only.
    if user.is_platform_admin:
        return None
    return {"pk": world["consignee_b" if user == cast.trader_a else "consignee_a"].pk}


def foreign_emergency_report(cast, world, user):
    # Administrators read every report; a customs supervisor those of emergencies
    # declared over an office they oversee, and the world's is only proposed.
    return None if user.is_platform_admin else {"pk": world["emergency"].pk}


def foreign_prenotification(cast, world, user):
    # Announced at an office nobody of the cast works at, for a consignee nobody belongs to.
    return None if user.is_platform_admin else {"pk": world["prenotification"].pk}


def foreign_supplies(cast, world, user):
    # The register is read by administrators and customs staff (any office).
    if user.is_platform_admin or is_customs_staff(user):
        return None
    return {"pk": world["supplies_emergency"].pk}


def foreign_owed_document(cast, world, user):
    # Only the declarant supplies what its declaration owes.
    owed = world["owed_b" if user == cast.trader_a else "owed_a"]
    return {"pk": owed.provisional.declaration_id, "owed_pk": owed.pk}


def foreign_provisional_declaration(cast, world, user):
    return None if is_auditor(user) else foreign_declaration(cast, world, user)


def foreign_joint_inspection(cast, world, user):
    """The agencies taking part at its office see it, and customs staff there (customs
    may join): another agency's, or another office's, answers 404."""
    if works_elsewhere(user) or not user.is_agency_staff:
        key = "joint_food_plant"
    elif user.agency == cast.customs:
        key = "joint_elsewhere"
    elif user.agency == cast.food:
        key = "joint_customs_plant"
    else:
        key = "joint_customs_food"
    return {"pk": world[key].pk}


FOREIGN: dict[str, Callable] = {
    "declaration": foreign_declaration,
    "document": foreign_document,
    "review": foreign_review,
    "query": foreign_query,
    "jurisdiction_rule": foreign_jurisdiction_rule,
    "payment": foreign_payment,
    "permit": foreign_permit,
    "rule_set": analysts_only("rule_set"),
    "rule": analysts_only("risk_rule"),
    "risk_job": analysts_only("risk_job"),
    "settings_proposal": analysts_only("settings_proposal"),
    "lane_proposal": foreign_lane_proposal,
    "api_token": foreign_api_token,
    "export": foreign_export,
    "user": foreign_user,
    "office": foreign_office,
    "guarantee": foreign_guarantee,
    "guarantee_proposal": foreign_guarantee_proposal,
    "movement": foreign_movement,
    "continuity_office": foreign_continuity_office,
    "planned_fallback": admins_only("planned_fallback"),
    "rescore_job": admins_only("rescore_job"),
    "emergency": foreign_emergency,
    "emergency_proposal": foreign_emergency_proposal,
    "consignee": foreign_consignee,
    "emergency_report": foreign_emergency_report,
    "prenotification": foreign_prenotification,
    "supplies": foreign_supplies,
    "supplies_admin": admins_only("supplies_emergency"),
    "supply_need": admins_only("supply_need"),
    "supply_pledge": admins_only("supply_pledge"),
    "owed_document": foreign_owed_document,
    "provisional_declaration": foreign_provisional_declaration,
    "joint_inspection": foreign_joint_inspection,
    "sealed_movement": foreign_sealed_movement,
}


def refused(client, url: str, api: bool) -> list[str]:
    """Every method answers 404 (405 where the route has no such method), at least one 404."""
    problems, not_found = [], 0
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url, {} if method == "post" else None)
        if response.status_code == 404:
            not_found += 1
        elif response.status_code != 405:
            problems.append(f"{method.upper()} {url} -> {response.status_code}")
    if not not_found:
        problems.append(f"{url}: no method answered 404")
    return problems


@pytest.mark.parametrize("role", ROLES + ELSEWHERE)
def test_objects_of_another_company_or_agency_answer_404(cast, world, api, client, role):
    from tests.factories import PASSWORD

    user = world[role] if role in ELSEWHERE else getattr(cast, role)
    problems, checked = [], 0
    for route, name, pattern in project_routes():
        if not (name and takes_arguments(pattern)):
            continue
        kind = OBJECT_ROUTES[name]
        kwargs = FOREIGN[kind](cast, world, user)
        if kwargs is None:
            continue
        url = reverse(name, kwargs=kwargs)
        is_api = route.startswith("api/")
        if is_api:
            caller = api.as_user(user)
        else:
            client.logout()
            assert client.login(request=login_request(), username=user.username, password=PASSWORD)
            caller = client
        problems += refused(caller, url, is_api)
        checked += 1
    assert checked >= 10  # the matrix really ran
    assert not problems, "\n".join(problems)


def test_the_owners_do_see_their_objects(cast, world, api):
    """The matrix's objects exist and are reachable by the right people."""
    a, food_review = world["a"], review_of(world["a"], cast.food)
    assert api.as_user(cast.trader_a).get(f"/api/v1/declarations/{a.pk}/").status_code == 200
    assert (
        api.as_user(cast.food_officer).get(f"/api/v1/reviews/{food_review.pk}/").status_code == 200
    )
    query = world["query_a"]
    assert api.as_user(cast.trader_a).get(f"/api/v1/queries/{query.pk}/").status_code == 200
    permit = world["food_permit_a"]
    assert api.as_user(cast.trader_a).get(f"/api/v1/permits/{permit.pk}/").status_code == 200
    assert api.as_user(cast.food_officer).get(f"/api/v1/permits/{permit.pk}/").status_code == 200
    assert api.as_user(cast.food_officer).get(f"/api/v1/queries/{query.pk}/").status_code == 200


def test_customs_at_a_sealed_movements_office_see_its_track(cast, world, login):
    """The sealed movement every role of the matrix is refused is there for its offices."""
    from tests.factories import UserFactory

    posted = UserFactory(
        username="pyeongtaek_officer", role="officer", agency=cast.customs, offices=["KRPTK"]
    )
    pk = world["sealed_movement"].pk
    assert login(posted).get(reverse("devices:movement", kwargs={"pk": pk})).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in_or_get_401(cast, world, client):
    """Every route but the public ones needs a login, whatever the object."""
    problems = []
    for route, name, pattern in project_routes():
        if name in PUBLIC_ROUTES or name == "home":
            continue
        kwargs = {}
        if takes_arguments(pattern):
            kwargs = FOREIGN[OBJECT_ROUTES[name]](cast, world, cast.trader_b)
        url = reverse(name, kwargs=kwargs)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if route.startswith("api/"):
                ok = response.status_code in (401, 405)
            else:
                ok = response.status_code == 405 or (
                    response.status_code == 302
                    and response["Location"].startswith("/accounts/login/")
                )
            if not ok:
                problems.append(f"{method.upper()} {url} -> {response.status_code}")
    assert client.get("/").status_code == 302
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_the_django_admin_is_closed_to_everyone_but_administrators(cast, client, role):
    from tests.factories import PASSWORD

    user = getattr(cast, role)
    assert client.login(request=login_request(), username=user.username, password=PASSWORD)
    for url in ("/admin/", "/admin/agencies/review/", "/admin/agencies/jurisdictionrule/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.logout()


def test_pages_for_one_role_are_404_for_the_others(cast, login):
    """Parameterless pages scoped to a role: the queue, jurisdiction, exports to confirm."""
    for role in ROLES:
        user = getattr(cast, role)
        browser = login(user)
        for url, allowed in (
            ("/queue/", user.is_agency_staff),
            ("/queue/counts/", user.is_agency_staff),
            ("/jurisdiction/", user.is_platform_admin),
            ("/jurisdiction/new/", user.is_platform_admin),
            ("/permits/", user.is_agency_staff or user.is_trader),
            ("/permits/new/", user.is_agency_staff),
            ("/exports/exit/", user.is_agency_staff and user.agency == cast.customs),
            ("/guarantees/", user.is_trader or is_customs_staff(user)),
            ("/guarantees/new/", is_customs_staff(user)),
            ("/movements/", is_customs_staff(user)),
            (
                "/continuity/",
                user.is_platform_admin or (is_customs_staff(user) and user.role == "supervisor"),
            ),
            ("/continuity/scoring/", user.is_platform_admin),
            ("/continuity/health/", user.is_platform_admin or user.role == "supervisor"),
            ("/continuity/health/panel/", user.is_platform_admin or user.role == "supervisor"),
            ("/emergencies/", user.is_platform_admin),
            ("/emergencies/new/", user.is_platform_admin),
            ("/emergencies/consignees/", user.is_platform_admin or user.is_trader),
            ("/emergencies/consignees/register/", user.is_platform_admin or user.is_trader),
            (
                "/emergencies/reports/",
                user.is_platform_admin or (is_customs_staff(user) and user.role == "supervisor"),
            ),
            (
                "/emergencies/prenotifications/",
                user.is_trader or user.is_agency_staff or user.is_platform_admin,
            ),
            # Only an approved humanitarian consignee's traders, and administrators, file.
            ("/emergencies/prenotifications/new/", user.is_platform_admin),
            ("/relief/joint-inspections/", user.is_agency_staff),
        ):
            assert browser.get(url).status_code == (200 if allowed else 404), (role, url)
        browser.logout()
