"""Load the demo cast: agencies with their jurisdiction, companies, users, permits, rules.

Idempotent: run it any number of times; existing rows are left as they are. Every
row is written through the services, as an administrator or analyst would write it;
the selectivity rules arrive in a new version of the live rule set, submitted by
one analyst and approved by a second, as risk configuration always is.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Company, User
from accounts.services import company_create, user_create
from agencies.models import Agency, JurisdictionRule, Permit
from agencies.services import agency_create, jurisdiction_rule_create, permit_issue
from clearance.services import (
    declaration_lodge,
    declarations_assess_risk,
    inspection_record,
    review_approve,
)
from clearance.transit import transit_arrival_record, transit_release_under_seal
from declarations.models import Declaration
from demo.rates import exchange_rates_publish_today
from guarantees.models import Guarantee
from guarantees.services import guarantee_proposal_approve, guarantee_propose
from risk.models import RiskSettings, RuleSet, live_rule_set_id
from risk.services import (
    rule_create,
    rule_set_approve,
    rule_set_draft_create,
    rule_set_submit,
)

DEMO_PASSWORD = "demo12345"

AGENCIES = [
    # code, name, is_customs, [(hs_prefix, permit, description)]
    ("customs", "Customs Service", True, []),
    (
        "food",
        "Food and Drug Safety Agency",
        False,
        [
            ("02", "Food import notification", "Meat and edible offal"),
            ("03", "Food import notification", "Fish and seafood"),
            ("04", "Food import notification", "Dairy, eggs, honey"),
            ("16", "Food import notification", "Preparations of meat or fish"),
            ("19", "Food import notification", "Cereal preparations"),
            ("2106", "Food import notification", "Food preparations n.e.s."),
            ("22", "Food import notification", "Beverages"),
            ("30", "Medicinal product import licence", "Pharmaceutical products"),
            ("3304", "Cosmetics import notification", "Beauty and make-up preparations"),
        ],
    ),
    (
        "plant",
        "Plant Quarantine Service",
        False,
        [
            ("06", "Phytosanitary certificate", "Live plants and flowers"),
            ("07", "Phytosanitary certificate", "Vegetables"),
            ("08", "Phytosanitary certificate", "Fruit and nuts"),
            ("10", "Phytosanitary certificate", "Cereals"),
            ("12", "Phytosanitary certificate", "Oil seeds, seeds for sowing"),
            ("4401", "Phytosanitary certificate", "Fuel wood, wood chips"),
            ("4403", "Phytosanitary certificate", "Wood in the rough"),
        ],
    ),
    (
        "animal",
        "Animal Health Service",
        False,
        [
            ("01", "Veterinary health certificate", "Live animals"),
            ("02", "Veterinary health certificate", "Meat and edible offal"),
            ("0407", "Veterinary health certificate", "Birds' eggs in shell"),
            ("05", "Veterinary health certificate", "Products of animal origin"),
            ("4101", "Veterinary health certificate", "Raw hides and skins"),
        ],
    ),
    (
        "standards",
        "Electrical Products Safety Agency",
        False,
        [
            ("8504", "Product safety certificate", "Transformers, power supplies"),
            ("8507", "Product safety certificate", "Batteries"),
            ("8516", "Product safety certificate", "Electric heaters, hair dryers, ovens"),
            ("8517", "Radio equipment conformity", "Telephones and network equipment"),
            ("8528", "Product safety certificate", "Monitors and televisions"),
            ("8544", "Product safety certificate", "Insulated wire and cable"),
        ],
    ),
]

COMPANIES = [
    ("Hanbit Trading Co.", "KR1048612345", "aeo_f"),
    ("Pacific Rim Imports Ltd.", "KR2208754321", "none"),
]

USERS = [
    # username, role, company tax id or agency code, first name, last name
    ("trader_a", User.Role.TRADER, "KR1048612345", "Min-jun", "Kim"),
    ("trader_b", User.Role.TRADER, "KR2208754321", "Ana", "Reyes"),
    ("customs_officer", User.Role.OFFICER, "customs", "Ji-woo", "Park"),
    ("food_officer", User.Role.OFFICER, "food", "Seo-yeon", "Lee"),
    ("plant_officer", User.Role.OFFICER, "plant", "Tomas", "Varga"),
    ("animal_officer", User.Role.OFFICER, "animal", "Amara", "Nwosu"),
    ("standards_officer", User.Role.OFFICER, "standards", "Kenji", "Sato"),
    ("supervisor", User.Role.SUPERVISOR, "customs", "Hye-jin", "Choi"),
    # Lowering a lane and changing the risk configuration need a second person.
    ("supervisor2", User.Role.SUPERVISOR, "customs", "Marco", "Bianchi"),
    ("analyst", User.Role.ANALYST, "customs", "Daniel", "Osei"),
    ("cashier", User.Role.CASHIER, "customs", "Eun-ji", "Han"),
    ("analyst2", User.Role.ANALYST, "customs", "Leila", "Haddad"),
    ("admin", User.Role.ADMIN, None, "Platform", "Administrator"),
]

PERMITS = [
    # agency, number, holder tax id, permit type, HS prefixes, origins. Valid from a
    # month ago for a year from the day they are seeded; examples/declaration.json
    # cites the first three.
    ("standards", "R-R-HBT-S5G128", "KR1048612345", "Radio equipment conformity", ["851713"], []),
    ("standards", "KC-SU10450-26001", "KR1048612345", "Product safety certificate", ["8504"], []),
    ("plant", "PC-ZA-2026-77812", "KR1048612345", "Phytosanitary certificate", ["0805"], ["ZA"]),
    ("food", "FOOD-2026-000101", "KR1048612345", "Food import notification", ["02", "03"], []),
    ("animal", "VET-2026-000101", "KR1048612345", "Veterinary health certificate", ["02"], []),
    ("food", "FOOD-2026-000102", "KR2208754321", "Food import notification", ["22"], []),
    ("plant", "PC-2026-000102", "KR2208754321", "Phytosanitary certificate", ["08"], []),
]

RULES = [
    # name, hs_prefix, origin, min value, score, force lane, note
    (
        "Telephones: frequent undervaluation",
        "8517",
        "",
        None,
        35,
        "",
        "Check invoice against reference price.",
    ),
    ("Tobacco: always inspected", "2402", "", None, 0, "red", "Excise goods, physical inspection."),
    # Item values are compared in the national currency (KRW), whatever the invoice's.
    (
        "High-value consignment",
        "",
        "",
        "1000000000.00",
        30,
        "",
        "Item value above 1,000,000,000 KRW.",
    ),
    ("Meat: sanitary alert", "02", "", None, 25, "", "Partner alert on meat consignments."),
]


GUARANTEES = [
    # holder's tax id, reference, amount (national currency)
    ("KR1048612345", "GRT-HBT-2026-001", Decimal("500000000")),
    ("KR2208754321", "GRT-PRI-2026-001", Decimal("200000000")),
]

# Transit movements of Hanbit from Busan to the Seoul inland office, via the Uiwang
# container depot: one under seal on its way, one arrived and waiting for discharge.
TRANSITS = [
    # invoice number, seal number, arrived
    ("INV-TR-DEMO-001", "KRSEAL000123", False),
    ("INV-TR-DEMO-002", "KRSEAL000124", True),
]
SEOUL_STAFF = [
    ("seoul_officer", User.Role.OFFICER, "Seo-jun", "Yoon"),
    ("seoul_supervisor", User.Role.SUPERVISOR, "Ye-eun", "Jang"),
]
TRANSIT_ITEM = {
    "hs_code": "611020",
    "description": "Cotton knitted pullovers",
    "origin_country": "CN",
    "quantity": Decimal("2400"),
    "unit": "NAR",
    "net_mass_kg": Decimal("960.000"),
    "gross_mass_kg": Decimal("1100.000"),
    "value": Decimal("28800.00"),
}


class Command(BaseCommand):
    help = (
        "Load demo agencies, jurisdiction, companies, users, permits and selectivity rules "
        "(idempotent)."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        agencies = {}
        for code, name, is_customs, jurisdiction in AGENCIES:
            agency = Agency.objects.filter(code=code).first() or agency_create(
                code=code, name=name, is_customs=is_customs
            )
            agencies[code] = agency
            for hs_prefix, permit, description in jurisdiction:
                if not JurisdictionRule.objects.filter(agency=agency, hs_prefix=hs_prefix).exists():
                    jurisdiction_rule_create(
                        agency=agency,
                        hs_prefix=hs_prefix,
                        permit_type=permit,
                        description=description,
                    )

        companies = {}
        for name, tax_id, aeo in COMPANIES:
            companies[tax_id] = Company.objects.filter(tax_id=tax_id).first() or company_create(
                name=name, tax_id=tax_id, aeo_status=aeo
            )

        for username, role, belongs_to, first_name, last_name in USERS:
            if User.objects.filter(username=username).exists():
                continue
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                company=companies.get(belongs_to),
                agency=agencies.get(belongs_to),
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.org",
            )

        self.issue_demo_permits()
        RiskSettings.current()
        self.publish_demo_rules(
            analyst=User.objects.get(username="analyst"),
            approver=User.objects.get(username="analyst2"),
        )
        published = exchange_rates_publish_today()
        self.seed_transit()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded; {published} exchange rates published for today.")
        )

    def issue_demo_permits(self) -> None:
        """Permits of the demo companies, so their regulated goods lodge."""
        today = timezone.localdate()
        for code, number, tax_id, permit_type, hs_prefixes, origins in PERMITS:
            if Permit.objects.filter(agency__code=code, number=number).exists():
                continue
            permit_issue(
                actor=User.objects.filter(agency__code=code, role=User.Role.OFFICER).first(),
                holder_tax_id=tax_id,
                permit_type=permit_type,
                hs_prefixes=hs_prefixes,
                origin_countries=origins,
                valid_from=today - timedelta(days=30),
                valid_until=today + timedelta(days=365),
                number=number,
            )

    def publish_demo_rules(self, *, analyst, approver) -> None:
        """Rules change only in a new version: copy the live set, add what is missing,
        submit it, and have a second analyst approve it."""
        live = RuleSet.objects.get(pk=live_rule_set_id())
        present = set(live.rules.values_list("name", flat=True))
        missing = [rule for rule in RULES if rule[0] not in present]
        if not missing:
            return
        draft = rule_set_draft_create(actor=analyst, based_on=live, note="demo rules")
        for name, hs_prefix, origin, min_value, score, lane, note in missing:
            rule_create(
                actor=analyst,
                rule_set=draft,
                name=name,
                hs_prefix=hs_prefix,
                origin_country=origin,
                min_item_value=Decimal(min_value) if min_value else None,
                score=score,
                force_lane=lane,
                note=note,
            )
        rule_set_submit(actor=analyst, rule_set=draft)
        rule_set_approve(actor=approver, rule_set=draft)

    def seed_transit(self) -> None:
        """Guarantees for the demo companies (one officer proposes, a supervisor
        approves), and Hanbit's transit movements, taken through the real steps."""
        officer = User.objects.get(username="customs_officer")
        supervisor = User.objects.get(username="supervisor")
        today = timezone.localdate()
        for tax_id, reference, amount in GUARANTEES:
            if Guarantee.objects.cited(reference).exists():
                continue
            proposal = guarantee_propose(
                actor=officer,
                company_tax_id=tax_id,
                reference=reference,
                amount=amount,
                valid_from=today - timedelta(days=30),
                valid_until=today + timedelta(days=365),
                reason="Surety undertaking on file",
            )
            guarantee_proposal_approve(proposal_id=proposal.pk, actor=supervisor)

        # Customs staff at both ends of the movements: the demo officer works at Busan
        # (where the demo declarations enter); an officer and a supervisor (who settles
        # discrepancies at arrival) at Seoul.
        if not officer.offices.exists():
            officer.offices.add("KRPUS")
        seoul = {}
        for username, role, first_name, last_name in SEOUL_STAFF:
            user = User.objects.filter(username=username).first() or user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                agency=officer.agency,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.org",
            )
            if not user.offices.exists():
                user.offices.add("KRSEL")
            seoul[username] = user

        trader = User.objects.get(username="trader_a")
        for invoice, seal, arrived in TRANSITS:
            if Declaration.objects.filter(company=trader.company, invoice_number=invoice).exists():
                continue
            movement = declaration_lodge(
                actor=trader,
                header=self.transit_header(invoice, TRANSIT_ITEM),
                items=[TRANSIT_ITEM],
            )
            # Scored here as a worker would (its queued task then finds it decided).
            declarations_assess_risk(declaration_ids=[movement.pk])
            self.clear(movement, officer=officer)
            transit_release_under_seal(
                declaration_id=movement.pk, actor=officer, seal_numbers=[seal]
            )
            if arrived:
                transit_arrival_record(
                    declaration_id=movement.pk,
                    actor=seoul["seoul_officer"],
                    arrived_at=timezone.now(),
                    seals_intact=True,
                    seal_numbers_found=[seal],
                )

    @staticmethod
    def transit_header(invoice: str, item: dict) -> dict:
        return {
            "type": Declaration.Type.TRANSIT,
            "procedure": "8000",
            "exporter_name": "Ningbo Knitwear Co.",
            "exporter_country": "CN",
            "consignee_name": "Hanbit Trading Co.",
            "country_of_export": "CN",
            "country_of_destination": "KR",
            "office_of_departure": "KRPUS",
            "office_of_destination": "KRSEL",
            "itinerary": ["KRUWN"],
            "guarantee_reference": "GRT-HBT-2026-001",
            "transit_days": 3,
            "transport_mode": Declaration.TransportMode.ROAD,
            "transport_document": f"CMR-{invoice[-3:]}-2026",
            "invoice_number": invoice,
            "currency": "USD",
            "incoterm": "FOB",
            "invoice_total": item["value"],
            "freight": Decimal("900.00"),
            "insurance": Decimal("60.00"),
            "packages": 120,
            "gross_mass_kg": item["gross_mass_kg"],
        }

    @staticmethod
    def clear(movement, *, officer) -> None:
        """Customs' lane work and approval, by the officer of departure, unless the
        green lane cleared it already."""
        movement.refresh_from_db()
        review = movement.reviews.filter(agency__is_customs=True).first()
        if review is None or review.status == review.Status.APPROVED:
            return
        for inspection in review.inspections.filter(status="ordered"):
            inspection_record(
                review_id=review.pk,
                actor=officer,
                kind=inspection.kind,
                finding="no_discrepancy",
            )
        review_approve(review_id=review.pk, actor=officer)
