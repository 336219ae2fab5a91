"""Load the demo cast: agencies with their jurisdiction, companies, users posted at their
customs offices, permits, rules, a few declarations to work on, exports to confirm,
a little work at Incheon Airport, and transit movements, one under an e-seal whose
reports (and an alert) are on its track.

Idempotent: run it any number of times; existing rows are left as they are. Every
row is written through the services, as an administrator or analyst would write it;
the selectivity rules arrive in a new version of the live rule set, submitted by
one analyst and approved by a second, as risk configuration always is.
"""

import json
import math
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Company, User
from accounts.services import company_create, user_create, user_update
from agencies.models import Agency, JurisdictionRule, Permit
from agencies.services import agency_create, jurisdiction_rule_create, permit_issue
from clearance.exports import declaration_exit_confirm
from clearance.services import (
    LaneChoice,
    declaration_lodge,
    declarations_assess_risk,
    device_events_record,
    lanes_apply,
)
from clearance.transit import transit_arrival_record, transit_release_under_seal
from declarations.models import Declaration
from declarations.services import declaration_create
from demo.rates import exchange_rates_publish_today
from devices.messages import event_from_message
from devices.models import Device, DeviceEvent
from devices.services import device_register
from emergencies.models import Emergency, HumanitarianConsignee
from emergencies.services import consignee_decide, consignee_register, emergency_declare_propose
from guarantees.models import Guarantee
from guarantees.services import guarantee_proposal_approve, guarantee_propose
from reference.models import Office
from risk.models import RiskSettings, RuleSet, live_rule_set_id
from risk.services import (
    lane_decision_manual,
    rule_create,
    rule_set_approve,
    rule_set_draft_create,
    rule_set_submit,
)
from supplies.services import supply_need_add

DEMO_PASSWORD = "demo12345"

AGENCIES = [
    # code, name, is_customs, [(hs_prefix, permit, description[, declaration types])]
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
    (
        # Export control: these rules name the declarations they apply to (exports);
        # the others apply to imports.
        "strategic",
        "Strategic Trade Control Office",
        False,
        [
            ("854231", "Strategic export licence", "Processors and controllers", ["EX"]),
            ("9301", "Strategic export licence", "Military weapons", ["EX"]),
            ("9705", "Cultural property export permit", "Collections, antiques", ["EX"]),
            ("9706", "Cultural property export permit", "Antiques over 100 years", ["EX"]),
        ],
    ),
]

COMPANIES = [
    ("Hanbit Trading Co.", "KR1048612345", "aeo_f"),
    ("Pacific Rim Imports Ltd.", "KR2208754321", "none"),
    # A humanitarian organisation, registered in advance as a consignee of relief.
    ("Hope Relief Korea", "KR3318800017", "none"),
]

USERS = [
    # username, role, company tax id or agency code, first name, last name, offices.
    # The demo declarations enter at Busan (KRPUS), where the officers work; the
    # airport officer sees only the work entering at Incheon Airport (KRICN).
    ("trader_a", User.Role.TRADER, "KR1048612345", "Min-jun", "Kim", []),
    ("trader_b", User.Role.TRADER, "KR2208754321", "Ana", "Reyes", []),
    ("customs_officer", User.Role.OFFICER, "customs", "Ji-woo", "Park", ["KRPUS"]),
    ("airport_officer", User.Role.OFFICER, "customs", "Soo-ah", "Jung", ["KRICN"]),
    ("food_officer", User.Role.OFFICER, "food", "Seo-yeon", "Lee", ["KRPUS"]),
    ("plant_officer", User.Role.OFFICER, "plant", "Tomas", "Varga", ["KRPUS"]),
    ("animal_officer", User.Role.OFFICER, "animal", "Amara", "Nwosu", ["KRPUS"]),
    ("standards_officer", User.Role.OFFICER, "standards", "Kenji", "Sato", ["KRPUS"]),
    ("strategic_officer", User.Role.OFFICER, "strategic", "Ingrid", "Larsen", ["KRPUS"]),
    ("supervisor", User.Role.SUPERVISOR, "customs", "Hye-jin", "Choi", ["KRPUS", "KRINC"]),
    # Lowering a lane and changing the risk configuration need a second person.
    ("supervisor2", User.Role.SUPERVISOR, "customs", "Marco", "Bianchi", ["KRPUS"]),
    # The demo transit movements end at Seoul: an officer receives them, a supervisor
    # settles what does not match (never the officer who recorded it).
    ("seoul_officer", User.Role.OFFICER, "customs", "Seo-jun", "Yoon", ["KRSEL"]),
    ("seoul_supervisor", User.Role.SUPERVISOR, "customs", "Ye-eun", "Jang", ["KRSEL"]),
    ("analyst", User.Role.ANALYST, "customs", "Daniel", "Osei", []),
    ("cashier", User.Role.CASHIER, "customs", "Eun-ji", "Han", []),
    ("analyst2", User.Role.ANALYST, "customs", "Leila", "Haddad", []),
    ("admin", User.Role.ADMIN, None, "Platform", "Administrator", []),
    # Declaring, extending and ending an emergency take a second administrator.
    ("admin2", User.Role.ADMIN, None, "Second", "Administrator", []),
    ("relief_ngo", User.Role.TRADER, "KR3318800017", "Grace", "Mwangi", []),
]

# Work for the airport officer: two air consignments entering at Incheon Airport,
# lodged and scored as any other (phones go yellow, tobacco red, by the demo rules).
AIRPORT_DECLARATIONS = [
    # invoice number, exporter, HS code, description, origin, quantity, value (USD),
    # net mass (kg), permits cited
    (
        "HB-ICN-2026-0031", "Shenzhen Bright Mobile Devices Co., Ltd.", "851713",
        "Smartphones, 5G, 256 GB", "CN", 120, "38400.00", "26.400",
        [("standards", "R-R-HBT-S5G128")],
    ),
    (
        "HB-ICN-2026-0032", "Saigon Leaf Trading JSC", "240220", "Cigarettes, 20 per pack",
        "VN", 5000, "21500.00", "310.000", [],
    ),
]  # fmt: skip

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
    ("strategic", "SEL-2026-000101", "KR1048612345", "Strategic export licence", ["854231"], []),
    ("food", "MED-2026-000201", "KR3318800017", "Medicinal product import licence", ["3004"], []),
]

# Hanbit's exports from Busan: (invoice, HS code, description, unit, quantity, net kg,
# value in USD, whether the office of exit has confirmed they left). Released for exit
# with nothing due; the first waits at KRPUS for its exit to be confirmed.
EXPORTS = [
    ("EXP-DEMO-0001", "940360", "Wooden office furniture", "NAR", 40, 800, "12000.00", False),
    ("EXP-DEMO-0002", "851713", "Smartphones", "NAR", 500, 120, "95000.00", True),
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


# Proposed by `admin`, waiting for `admin2` (see seed_relief).
DEMO_EMERGENCY = "Typhoon Mirae (demo)"

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
# The e-seal on the movement under seal, and what it reported while the container
# left the port of Busan: moving from the quay to the gate (kilometres north and east
# of the office, speed), its seal reported opened at the last. A device that lost
# coverage in the port reports such a run at once, in device time since the release.
DEMO_SEAL_DEVICE = "ESEAL-KR-000123"
DEMO_SEAL_TRACK = [
    (0.0, 0.0, 0.0, "closed"),
    (0.25, -0.15, 12.0, "closed"),
    (0.55, -0.35, 18.0, "closed"),
    (0.85, -0.6, 22.0, "closed"),
    (1.1, -0.9, 15.0, "closed"),
    (1.3, -1.2, 8.0, "opened"),
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
        if not Office.objects.exists():
            # Staff are posted at customs offices, and declarations name them.
            raise CommandError("Load the reference data first: manage.py load_reference_data")
        agencies = {}
        for code, name, is_customs, jurisdiction in AGENCIES:
            agency = Agency.objects.filter(code=code).first() or agency_create(
                code=code, name=name, is_customs=is_customs
            )
            agencies[code] = agency
            for hs_prefix, permit, description, *types in jurisdiction:
                if not JurisdictionRule.objects.filter(agency=agency, hs_prefix=hs_prefix).exists():
                    jurisdiction_rule_create(
                        agency=agency,
                        hs_prefix=hs_prefix,
                        permit_type=permit,
                        description=description,
                        declaration_types=types[0] if types else None,
                    )

        companies = {}
        for name, tax_id, aeo in COMPANIES:
            companies[tax_id] = Company.objects.filter(tax_id=tax_id).first() or company_create(
                name=name, tax_id=tax_id, aeo_status=aeo
            )

        for username, role, belongs_to, first_name, last_name, offices in USERS:
            existing = User.objects.filter(username=username).first()
            if existing is not None:
                # Demo staff made before officers had offices are posted at theirs.
                if offices and not existing.offices.exists():
                    user_update(user=existing, actor=None, offices=offices)
                continue
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                company=companies.get(belongs_to),
                agency=agencies.get(belongs_to),
                offices=offices,
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
        self.seed_demo_exports()
        self.lodge_airport_declarations(trader=User.objects.get(username="trader_a"))
        self.seed_transit()
        self.seed_relief()
        self.seed_seal_track()
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

    def lodge_airport_declarations(self, *, trader) -> None:
        """Lodge the declarations entering at Incheon Airport (once: by invoice number)
        and score them as the risk worker does, so that their reviews wait in the
        airport's queue."""
        lodged = []
        for (
            invoice,
            exporter,
            hs_code,
            description,
            origin,
            quantity,
            value,
            mass,
            permits,
        ) in AIRPORT_DECLARATIONS:
            if Declaration.objects.filter(
                company_id=trader.company_id, invoice_number=invoice
            ).exists():
                continue
            item = {
                "hs_code": hs_code,
                "description": description,
                "origin_country": origin,
                "quantity": Decimal(quantity),
                "unit": "NAR",
                "net_mass_kg": Decimal(mass),
                "gross_mass_kg": Decimal(mass),
                "value": Decimal(value),
                "permits": [{"agency": code, "reference": number} for code, number in permits],
            }
            header = {
                "type": Declaration.Type.IMPORT,
                "procedure": "4000",
                "importer_name": trader.company.name,
                "importer_tax_id": trader.company.tax_id,
                "exporter_name": exporter,
                "exporter_country": origin,
                "country_of_export": origin,
                "country_of_destination": "KR",
                "office_of_entry": "KRICN",
                "transport_mode": Declaration.TransportMode.AIR,
                "transport_document": f"180-{invoice[-4:]}5521",
                "invoice_number": invoice,
                "currency": "USD",
                "incoterm": "FCA",
                "invoice_total": Decimal(value),
                "freight": Decimal("850.00"),
                "insurance": Decimal("60.00"),
                "packages": 12,
                "gross_mass_kg": Decimal(mass),
            }
            lodged.append(
                declaration_create(actor=trader, header=header, items=[item], lodge=True).pk
            )
        if lodged:
            declarations_assess_risk(declaration_ids=lodged)

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

    def seed_demo_exports(self) -> None:
        """Two of Hanbit's exports, lodged and cleared green by the analyst (their lane
        chosen here, not drawn, so that the demo is the same every time): one waiting at
        Busan for its exit to be confirmed, one confirmed."""
        trader = User.objects.get(username="trader_a")
        analyst = User.objects.get(username="analyst")
        # Posted at Busan, where the demo exports leave.
        officer = User.objects.get(username="customs_officer")
        for invoice, hs_code, description, unit, quantity, mass, value, exited in EXPORTS:
            if Declaration.objects.filter(company=trader.company, invoice_number=invoice).exists():
                continue
            item = {
                "hs_code": hs_code, "description": description, "origin_country": "KR",
                "quantity": Decimal(quantity), "unit": unit, "net_mass_kg": Decimal(mass),
                "gross_mass_kg": Decimal(mass) * Decimal("1.1"), "value": Decimal(value),
            }  # fmt: skip
            header = {
                "type": Declaration.Type.EXPORT, "procedure": "1000",
                "exporter_name": trader.company.name, "exporter_country": "KR",
                "consignee_name": "Pacific Coast Distributors Inc.", "country_of_export": "KR",
                "country_of_destination": "US", "office_of_departure": "KRPUS",
                "office_of_exit": "KRPUS", "transport_mode": Declaration.TransportMode.SEA,
                "transport_document": f"HDMU{invoice[-4:]}2026", "invoice_number": invoice,
                "currency": "USD", "incoterm": "FOB", "invoice_total": Decimal(value),
                "packages": 10, "gross_mass_kg": item["gross_mass_kg"],
            }  # fmt: skip
            declaration = declaration_create(actor=trader, header=header, items=[item], lodge=True)
            locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
            decision = lane_decision_manual(
                declaration=locked, lane="green", actor=analyst, reason="demo export"
            )
            lanes_apply(choices=[LaneChoice(locked, "green", decision=decision)], actor=analyst)
            decision.save()
            if exited:
                declaration_exit_confirm(
                    declaration_id=declaration.pk,
                    actor=officer,
                    exited_at=timezone.now(),
                    transport_mode=Declaration.TransportMode.SEA,
                    transport_identity="HMM ALGECIRAS 0012W",
                )

    def seed_transit(self) -> None:
        """Guarantees for the demo companies (one officer proposes, a supervisor
        approves), and Hanbit's transit movements taken through the real steps, cleared
        green by the analyst (chosen, not drawn, as for the demo exports): one under
        seal on its way to Seoul, one arrived there."""
        officer = User.objects.get(username="customs_officer")  # posted at Busan
        supervisor = User.objects.get(username="supervisor")
        analyst = User.objects.get(username="analyst")
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

        trader = User.objects.get(username="trader_a")
        for invoice, seal, arrived in TRANSITS:
            if Declaration.objects.filter(company=trader.company, invoice_number=invoice).exists():
                continue
            # Lodged as a broker's system lodges it: the guarantee is drawn, and the risk
            # task it queues finds the lane already chosen.
            movement = declaration_lodge(
                actor=trader,
                header=self.transit_header(invoice, TRANSIT_ITEM),
                items=[TRANSIT_ITEM],
            )
            locked = Declaration.objects.select_for_update().get(pk=movement.pk)
            decision = lane_decision_manual(
                declaration=locked, lane="green", actor=analyst, reason="demo transit"
            )
            lanes_apply(choices=[LaneChoice(locked, "green", decision=decision)], actor=analyst)
            decision.save()
            transit_release_under_seal(
                declaration_id=movement.pk, actor=officer, seal_numbers=[seal]
            )
            if arrived:
                transit_arrival_record(
                    declaration_id=movement.pk,
                    actor=User.objects.get(username="seoul_officer"),
                    arrived_at=timezone.now(),
                    seals_intact=True,
                    seal_numbers_found=[seal],
                )

    def seed_relief(self) -> None:
        """Hope Relief Korea, approved as a humanitarian consignee (its trader asked, an
        administrator approved), and an emergency proposed by `admin` that waits for
        `admin2`: nothing is in force until a second administrator approves it."""
        ngo = User.objects.get(username="relief_ngo")
        admin = User.objects.get(username="admin")
        if not HumanitarianConsignee.objects.filter(company=ngo.company).exists():
            consignee = consignee_register(
                actor=ngo,
                kind=HumanitarianConsignee.Kind.NGO,
                mission="Emergency medical supplies, shelter and water for disaster areas; "
                "registered charity 2009-0417.",
            )
            consignee_decide(actor=admin, consignee_id=consignee.pk, status="approved")
        if not Emergency.objects.filter(name=DEMO_EMERGENCY).exists():
            now = timezone.now()
            emergency_declare_propose(
                actor=admin,
                office_codes=["KRPUS", "KRICN"],
                reason="Landfall on the south coast expected within 24 hours; the "
                "government has asked for international assistance (demo).",
                name=DEMO_EMERGENCY,
                description="Relief flights into Incheon Airport, relief ships into Busan.",
                starts_at=now,
                ends_at=now + timedelta(days=30),
                hs_prefixes=["3004", "3005", "6306", "842121", "8502", "2201"],
                duty_relief=True,
                documents_within_days=30,
            )
            # Its critical supplies register: the priority needs the demo starts with.
            proposed = Emergency.objects.get(name=DEMO_EMERGENCY)
            for prefix, label, target, unit in (
                ("3004", "Medicines", "200000", "NAR"),
                ("6306", "Family tents", "5000", "NAR"),
                ("842121", "Water purification units", "400", "NAR"),
                ("8502", "Generators", "150", "NAR"),
            ):
                supply_need_add(
                    actor=admin, emergency_id=proposed.pk, hs_prefix=prefix, label=label,
                    target_quantity=Decimal(target), unit=unit,
                )  # fmt: skip

    def seed_seal_track(self) -> None:
        """The e-seal of the demo movement under seal, registered by the administrator,
        and its reports taken as the device listener takes them: recorded on the
        movement's track and evaluated, the opened seal raising an alert to the
        offices of Busan and Seoul and making inspection at destination mandatory.
        Its reports run from the release (at most 20 minutes back) to now."""
        if DeviceEvent.objects.filter(device_identifier=DEMO_SEAL_DEVICE).exists():
            return
        invoice, seal, _ = TRANSITS[0]
        movement = Declaration.objects.filter(
            invoice_number=invoice, seal_numbers__contains=[seal]
        ).first()
        if movement is None:
            return
        if not Device.objects.filter(identifier=DEMO_SEAL_DEVICE).exists():
            device_register(
                identifier=DEMO_SEAL_DEVICE,
                kind=Device.Kind.SEAL,
                description=f"E-seal {seal}",
                actor=User.objects.get(username="admin"),
            )
        port = Office.objects.get(code=movement.office_of_departure)
        now = timezone.now()
        start = max(movement.submitted_at, now - timedelta(minutes=20))
        step = (now - start) / len(DEMO_SEAL_TRACK)
        messages = []
        for n, (north_km, east_km, speed, status) in enumerate(DEMO_SEAL_TRACK):
            latitude = float(port.latitude) + north_km / 111.2
            longitude = float(port.longitude) + east_km / (111.2 * math.cos(math.radians(latitude)))
            body = {
                "message_id": f"demo-{n + 1:04d}",
                "seal": seal,
                "at": timezone.localtime(start + step * (n + 1)).isoformat(),
                "status": status,
                "lat": round(latitude, 6),
                "lon": round(longitude, 6),
                "speed": speed,
            }
            messages.append(
                event_from_message(
                    json.dumps(body).encode(),
                    device_identifier=DEMO_SEAL_DEVICE,
                    channel=DeviceEvent.Channel.MQTT,
                    received_at=now,
                )
            )
        device_events_record(events=messages)

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
