"""factory_boy factories that build through the services, as the product does."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import factory
from django.db import transaction
from django.utils import timezone

from accounts.models import Company, User
from accounts.services import company_create, user_create
from agencies.models import Agency, JurisdictionRule, Permit
from agencies.services import agency_create, permit_issue, reviews_open_many
from clearance.services import LaneChoice, lanes_apply
from declarations.models import Declaration, Item
from declarations.services import declaration_create, payment_order_issue
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


# Where the tests' officers and supervisors are posted unless a test says otherwise:
# the office the factories' declarations enter at (header_data's office_of_entry).
TEST_OFFICE = "KRPUS"


class UserFactory(factory.Factory):
    """A user through the service; officers and supervisors posted at TEST_OFFICE
    unless `offices` names theirs."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = PASSWORD
    role = User.Role.TRADER
    company = None
    agency = None
    offices = factory.LazyAttribute(
        lambda user: [TEST_OFFICE] if user.role in ("officer", "supervisor") else []
    )

    @classmethod
    def _create(cls, model_class, **kwargs):
        return user_create(**kwargs)


class PermitFactory(factory.Factory):
    """A permit issued by an officer of an agency (`issued_by`) to a company (`holder`),
    through the service. `expired` / `not_yet_valid` move its dates afterwards, as
    if it had been issued long ago or for later: the service refuses both today."""

    class Meta:
        model = Permit

    issued_by = None
    holder = None
    permit_type = "Food import notification"
    hs_prefixes = factory.LazyFunction(lambda: ["02"])
    origin_countries = factory.LazyFunction(list)
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    number = ""
    expired = False
    not_yet_valid = False

    @classmethod
    def _create(cls, model_class, *, issued_by, holder, expired, not_yet_valid, **kwargs):
        permit = permit_issue(actor=issued_by, holder_tax_id=holder.tax_id, **kwargs)
        today = timezone.localdate()
        if expired:
            dates = {"valid_from": today - timedelta(days=400), "valid_until": today - timedelta(1)}
        elif not_yet_valid:
            dates = {"valid_from": today + timedelta(days=1), "valid_until": today + timedelta(90)}
        else:
            return permit
        Permit.objects.filter(pk=permit.pk).update(**dates)
        permit.refresh_from_db()
        return permit


def permit_citations(
    item: dict, *, holder, procedure: str = "4000", type: str = Declaration.Type.IMPORT
) -> list[dict]:
    """Cite, for the item of a declaration of this type and procedure, a valid permit of
    every agency whose jurisdiction asks for one, issued to `holder` for the item's HS
    code (issued now if it has none yet)."""
    probe = Item(hs_code=item["hs_code"], origin_country=item["origin_country"])
    declaration = Declaration(type=type, procedure=procedure)
    rules = JurisdictionRule.objects.select_related("agency").exclude(permit_type="")
    citations = []
    for agency in sorted(
        {rule.agency for rule in rules if rule.covers(probe, declaration)}, key=lambda a: a.code
    ):
        permit = next(
            (
                p
                for p in Permit.objects.filter(agency=agency, holder=holder, status="valid")
                if not p.refusal(probe, company_id=holder.pk, on=timezone.localdate())
            ),
            None,
        )
        if permit is None:
            officer = User.objects.filter(agency=agency, role=User.Role.OFFICER).first()
            permit = PermitFactory(
                issued_by=officer or UserFactory(role=User.Role.OFFICER, agency=agency),
                holder=holder,
                permit_type=next(r.permit_type for r in rules if r.agency_id == agency.pk),
                hs_prefixes=[item["hs_code"]],
            )
        citations.append({"agency": agency.code, "reference": permit.number})
    return citations


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
        "office_of_entry": TEST_OFFICE,
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
    body = {
        k: v if isinstance(v, list) else str(v)
        for k, v in consistent_header(items, **overrides).items()
    }
    body["items"] = [
        {k: v if k == "permits" else str(v) for k, v in item.items()} for item in items
    ]
    return body


# An export of Korean goods from Busan, cleared and leaving there.
EXPORT_HEADER = {
    "type": Declaration.Type.EXPORT,
    "procedure": "1000",
    "importer_name": "Pacific Coast Distributors Inc.",
    "importer_tax_id": "",
    "exporter_name": "Hanbit Trading Co.",
    "exporter_country": "KR",
    "country_of_export": "KR",
    "country_of_destination": "US",
    "office_of_entry": "",
    "office_of_departure": "KRPUS",
    "office_of_exit": "KRPUS",
    "incoterm": "FOB",
    "freight": Decimal("0"),
    "insurance": Decimal("0"),
}


def export_item_data(**overrides) -> dict:
    """Korean-made furniture: no export duty, nobody's export licence."""
    return item_data(
        **{
            "hs_code": "940360",
            "description": "Wooden office furniture",
            "origin_country": "KR",
            "quantity": Decimal("40"),
            "unit": "NAR",
            "net_mass_kg": Decimal("800.000"),
            "gross_mass_kg": Decimal("900.000"),
            "value": Decimal("12000.00"),
            **overrides,
        }
    )


def make_export(*, actor, items: list[dict] | None = None, **header) -> Declaration:
    """A draft export (EXPORT_HEADER, overridden by `header`)."""
    return make_declaration(
        actor=actor, items=items or [export_item_data()], **{**EXPORT_HEADER, **header}
    )


def export_payload(**overrides) -> dict:
    """A JSON body for POST /api/v1/declarations/ filing an export."""
    items = overrides.pop("items", None) or [export_item_data()]
    return api_payload(items=items, **{**EXPORT_HEADER, **overrides})


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


# The secret the tests' bank signs with; tests/conftest.py gives it to the platform.
BANK_SECRET = "test-bank-secret"
NOTIFICATION_URL = "/api/v1/payments/notifications/"


def bank_notification(payment, **overrides) -> dict:
    """The body a bank sends when the payment order was paid in full."""
    body = {
        "notification_id": f"NTF-{uuid.uuid4().hex}",
        "payment_reference": payment.reference,
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
        "bank_reference": f"BNK-{uuid.uuid4().hex[:10].upper()}",
        "paid_at": timezone.now().isoformat(),
    }
    body.update(overrides)
    return body


def send_bank_notification(body: dict, *, secret: str = BANK_SECRET, timestamp=None):
    """POST the notification as the bank does: the raw JSON body, signed."""
    from django.test import Client

    from payments.signing import signed_headers

    raw = json.dumps(body).encode()
    # As a bank calls: no session, no CSRF token.
    return Client(enforce_csrf_checks=True).post(
        NOTIFICATION_URL,
        raw,
        content_type="application/json",
        headers=signed_headers(secret=secret, body=raw, timestamp=timestamp),
    )


def pay(declaration) -> Declaration:
    """Pay an assessed declaration as its declarant does: ask for the payment order, and
    the bank confirms it with a signed notification; released if nothing else blocks."""
    payment, _ = payment_order_issue(declaration=declaration, actor=declaration.created_by)
    response = send_bank_notification(bank_notification(payment))
    assert response.status_code == 200, response.json()
    return Declaration.objects.get(pk=declaration.pk)


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


def pdf_bytes(*, pages: int = 1, password: str | None = None) -> bytes:
    """A real PDF of blank A4 pages, written by pypdf (optionally encrypted)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(image_format: str = "PNG", *, size=(16, 16), mode: str = "RGB") -> bytes:
    """A real image, drawn by Pillow, in PNG or JPEG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, "white").save(out, format=image_format)
    return out.getvalue()
