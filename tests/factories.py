"""factory_boy factories that build through the services, as the product does."""

from decimal import Decimal

import factory
from django.db import transaction
from django.utils import timezone

from accounts.models import Company, User
from accounts.services import company_create, user_create
from agencies.models import Agency
from agencies.services import agency_create, reviews_open_many
from clearance.services import LaneChoice, lanes_apply
from declarations.models import Declaration
from declarations.services import declaration_create
from risk.models import LaneDecision

PASSWORD = "correct-horse-battery"


class CompanyFactory(factory.Factory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    tax_id = factory.Sequence(lambda n: f"TAX{n:09d}")
    aeo_status = "none"

    @classmethod
    def _create(cls, model_class, **kwargs):
        return company_create(**kwargs)


class AgencyFactory(factory.Factory):
    class Meta:
        model = Agency

    code = factory.Sequence(lambda n: f"agency{n}")
    name = factory.Sequence(lambda n: f"Agency {n}")
    is_customs = False

    @classmethod
    def _create(cls, model_class, **kwargs):
        return agency_create(**kwargs)


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = PASSWORD
    role = User.Role.TRADER
    company = None
    agency = None

    @classmethod
    def _create(cls, model_class, **kwargs):
        return user_create(**kwargs)


def item_data(**overrides) -> dict:
    data = {
        "hs_code": "851713",
        "description": "Smartphones",
        "origin_country": "CN",
        "quantity": Decimal("100"),
        "unit": "NAR",
        "net_mass_kg": Decimal("25.000"),
        "gross_mass_kg": Decimal("30.000"),
        "value": Decimal("15000.00"),
    }
    data.update(overrides)
    return data


def header_data(**overrides) -> dict:
    data = {
        "type": Declaration.Type.IMPORT,
        "procedure": "4000",
        "importer_name": "Hanbit Trading Co.",
        "importer_tax_id": "KR1048612345",
        "exporter_name": "Shenzhen Mobile Devices Ltd.",
        "exporter_country": "CN",
        "country_of_export": "CN",
        "country_of_destination": "KR",
        "office_of_entry": "KRPUS",
        "transport_mode": Declaration.TransportMode.SEA,
        "transport_document": "MSKU1234567",
        "invoice_number": "INV-2026-001",
        "currency": "USD",
        "incoterm": "FOB",
        "invoice_total": Decimal("15000.00"),
        "freight": Decimal("300.00"),
        "insurance": Decimal("45.00"),
        "packages": 10,
        "gross_mass_kg": Decimal("30.000"),
    }
    data.update(overrides)
    return data


def consistent_header(items: list[dict], **overrides) -> dict:
    """A header whose totals agree with the items, as a lodgement needs."""
    totals = {
        "invoice_total": sum((Decimal(str(i["value"])) for i in items), Decimal("0")),
        "gross_mass_kg": sum(
            (Decimal(str(i.get("gross_mass_kg") or i["net_mass_kg"])) for i in items), Decimal("0")
        ),
    }
    return header_data(**{**totals, **overrides})


def make_declaration(*, actor, items: list[dict] | None = None, **header) -> Declaration:
    items = items or [item_data()]
    return declaration_create(actor=actor, header=consistent_header(items, **header), items=items)


def api_payload(**overrides) -> dict:
    """A JSON body for POST /api/v1/declarations/ (strings, as a client sends them)."""
    items = overrides.pop("items", None) or [item_data()]
    body = {k: str(v) for k, v in consistent_header(items, **overrides).items()}
    body["items"] = [
        {k: v if k == "permits" else str(v) for k, v in item.items()} for item in items
    ]
    return body


def route(declaration, *, lane: str = "green", actor=None) -> Declaration:
    """Give a submitted (or held) declaration its lane as the risk engine would, without
    scoring it: reviews open, checks are ordered, the declaration is under review."""
    with transaction.atomic():
        locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
        decision = LaneDecision(
            declaration=locked,
            lane=lane,
            score=0,
            reasons=[{"kind": "lane", "text": f"lane {lane}: set by the test"}],
            rule_set_version="test",
            decided_at=timezone.now(),
            duration_ms=0,
        )
        lanes_apply(choices=[LaneChoice(locked, lane, decision=decision)], actor=actor)
        decision.save()
    return Declaration.objects.get(pk=declaration.pk)


def open_reviews(declaration):
    """Open the agencies' reviews of a declaration the test put under review itself."""
    declaration = Declaration.objects.get(pk=declaration.pk)
    items = list(declaration.items.order_by("line_no"))
    return reviews_open_many(declarations=[declaration], items_of={declaration.pk: items})[
        declaration.pk
    ]


def second_analyst(first):
    """Another analyst than `first`: risk configuration changes need two people."""
    username = "analyst_2" if first.username != "analyst_2" else "analyst_3"
    existing = User.objects.filter(username=username).first()
    return existing or UserFactory(username=username, role=User.Role.ANALYST, agency=first.agency)


def rule_set_publish(*, actor, rule_set):
    """Make a draft live as the product does: `actor` submits, a second analyst approves."""
    from risk.services import rule_set_approve, rule_set_submit

    rule_set_submit(actor=actor, rule_set=rule_set)
    return rule_set_approve(actor=second_analyst(actor), rule_set=rule_set)


def risk_settings_change(*, actor, reason: str = "set by the test", **values):
    """Change the risk settings: `actor` proposes, a second analyst approves."""
    from risk.services import risk_settings_approve, risk_settings_propose

    proposal = risk_settings_propose(actor=actor, reason=reason, **values)
    return risk_settings_approve(actor=second_analyst(actor), proposal=proposal)


def second_supervisor(first):
    """Another supervisor of `first`'s agency: lowering a lane needs two."""
    username = f"{first.username}_2"
    existing = User.objects.filter(username=username).first()
    return existing or UserFactory(
        username=username, role=User.Role.SUPERVISOR, agency=first.agency
    )


def lane_lower(*, declaration_id: int, lane: str, actor, reason: str, approver=None):
    """Lower a lane as the product does: `actor` proposes, a second supervisor approves."""
    from clearance.services import declaration_lane_override, lane_change_approve

    proposal = declaration_lane_override(
        declaration_id=declaration_id, lane=lane, actor=actor, reason=reason
    )
    return lane_change_approve(proposal_id=proposal.pk, actor=approver or second_supervisor(actor))
