"""The rules a customs officer applies at lodgement.

Each error names its field as the API reports it: `invoice_total`,
`items[2].hs_code`. A declaration with any error is not stored or changed.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from agencies.models import JurisdictionRule, permits_by_citation
from core.validators import is_country_code
from declarations.duties import import_duties
from declarations.models import Declaration
from declarations.notices import office_label
from emergencies.selectors import relief_check
from guarantees.models import Guarantee, GuaranteeDraw, not_yours
from reference import lookups
from reference.models import OfficeClosure

# Beyond these, a value is a typing error, not a consignment.
MAX_VALUE = Decimal("1000000000000")  # per item or invoice, invoice currency
MAX_MASS_KG = Decimal("1000000000")  # 1 Mt: more than any ship carries
MAX_QUANTITY = Decimal("1000000000")
TOTAL_TOLERANCE = Decimal("0.01")
MASS_TOLERANCE = Decimal("0.01")  # 1 % between declared gross mass and the items'


class Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


# The header fields that cite a document: required at lodgement, unless a provisional
# relief declaration owes the document (Declaration.documents_follow).
DOCUMENT_FIELDS = {
    "invoice_number": "invoice",
    "transport_document": "transport_document",
}
BLANK = "This field cannot be blank."


def model_errors(declaration: Declaration, items) -> Errors:
    """Field-level checks of the model (formats, codes, bounds)."""
    errors = Errors()
    exclude = [
        "company", "created_by", "exchange_rate", "customs_value_total", "duty_total",
        "vat_total", "version", "previous_version", "first_version",
    ]  # fmt: skip
    try:
        declaration.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                errors.add(field, message)
    if not declaration.documents_follow:
        for name in DOCUMENT_FIELDS:
            if not getattr(declaration, name):
                errors.add(name, BLANK)
    if not items:
        errors.add("items", "A declaration needs at least one item.")
    for index, item in enumerate(items):
        try:
            item.full_clean(
                exclude=["declaration", "customs_value", "duty_rate", "duty_amount", "vat_amount"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    errors.add(f"items[{index}].{field}", message)
    return errors


def reference_errors(declaration: Declaration, items, permits: list[dict], *, on: date) -> Errors:
    """Codes that must exist and plausible magnitudes. Drafts pass these."""
    errors = Errors()
    d = declaration
    offices = lookups.office_codes()
    for role, code in d.offices.items():
        if code not in offices:
            errors.add(f"office_of_{role}", f"{code} is not a customs office.")
    for index, stop in enumerate(d.itinerary):
        if stop not in offices and not is_country_code(stop):
            errors.add(
                f"itinerary[{index}]", f"{stop} is neither a customs office nor a country code."
            )
    if lookups.exchange_rate(d.currency, on) is None:
        errors.add("currency", f"There is no exchange rate for {d.currency} on {on}.")
    if d.invoice_total > MAX_VALUE:
        errors.add("invoice_total", f"An invoice total above {MAX_VALUE:,} is not plausible.")

    hs_codes = lookups.hs_subheadings()
    units = lookups.unit_codes()
    agreements = lookups.agreements()
    agency_codes = lookups.agency_codes()
    for index, (item, item_permits) in enumerate(zip(items, permits, strict=True)):
        at = f"items[{index}]"
        if item.hs_code[:6] not in hs_codes:
            errors.add(f"{at}.hs_code", f"{item.hs_code[:6]} is not an HS 2022 subheading.")
        if item.unit not in units:
            errors.add(f"{at}.unit", f"{item.unit} is not a UN/ECE Recommendation 20 unit.")
        if item.value > MAX_VALUE:
            errors.add(f"{at}.value", f"A value above {MAX_VALUE:,} is not plausible.")
        if item.quantity > MAX_QUANTITY:
            errors.add(f"{at}.quantity", f"A quantity above {MAX_QUANTITY:,} is not plausible.")
        if item.net_mass_kg > MAX_MASS_KG:
            errors.add(f"{at}.net_mass_kg", f"A mass above {MAX_MASS_KG:,} kg is not plausible.")
        if item.gross_mass_kg is not None and item.net_mass_kg > item.gross_mass_kg:
            errors.add(f"{at}.net_mass_kg", "The net mass is above the gross mass.")
        if item.preference and item.preference not in agreements:
            errors.add(f"{at}.preference", f"{item.preference} is not a trade agreement.")
        for agency in sorted({p["agency"] for p in item_permits} - agency_codes):
            errors.add(f"{at}.permits", f"{agency} is not an agency.")

    return errors


def duplicate_errors(declaration: Declaration) -> Errors:
    """Another live declaration of the trader's for the same invoice."""
    errors = Errors()
    d = declaration
    if not d.invoice_number:
        return errors  # a provisional declaration whose invoice follows
    duplicates = Declaration.objects.filter(
        company_id=d.company_id, invoice_number=d.invoice_number
    ).exclude(status__in=[Declaration.Status.CANCELLED, Declaration.Status.AMENDED])
    for replaced in (d.pk, d.previous_version_id):
        if replaced:
            duplicates = duplicates.exclude(pk=replaced)
    duplicate = duplicates.first()
    if duplicate is not None:
        errors.add(
            "invoice_number",
            f"Invoice {d.invoice_number} is already declared in {duplicate.reference}.",
        )
    return errors


def lodgement_errors(declaration: Declaration, items, permits: list[dict], *, on: date) -> Errors:
    """What a complete declaration must satisfy before it is lodged: parties,
    totals, masses, permits and preferences. Run on individually valid fields."""
    errors = Errors()
    national = settings.NATIONAL_COUNTRY
    d = declaration
    # A provisional relief declaration owes what is missing of its documents (below).
    provisional = _provisional(d, items, errors)
    errors.update(office_errors(d))
    errors.update(closed_office_errors(d))
    errors.update(procedure_errors(d))
    errors.update(transit_errors(d, items, on=on))
    if d.type == Declaration.Type.IMPORT:
        if d.country_of_destination != national:
            errors.add("country_of_destination", f"An import's destination is {national}.")
        if not d.importer_name:
            errors.add("importer_name", "An import declaration names the importer.")
        if not d.importer_tax_id:
            errors.add("importer_tax_id", "An import declaration gives the importer's tax id.")
    elif d.type == Declaration.Type.EXPORT:
        errors.update(export_errors(d, items))

    agreements = lookups.agreements()
    rules = list(
        JurisdictionRule.objects.for_hs_codes(item.hs_code for item in items)
        .exclude(permit_type="")
        .select_related("agency")
    )
    # Every permit the declaration cites, in one query (none when it cites none).
    cited = permits_by_citation((p["agency"], p["reference"]) for ps in permits for p in ps)
    for index, (item, item_permits) in enumerate(zip(items, permits, strict=True)):
        at = f"items[{index}]"
        # An export's preference is refused whole by export_errors.
        if item.preference and d.type != Declaration.Type.EXPORT:
            partners = agreements.get(item.preference, frozenset())
            if item.origin_country not in partners:
                errors.add(
                    f"{at}.preference",
                    f"Origin {item.origin_country} does not qualify under {item.preference}.",
                )
            if not item.certificate_of_origin and not provisional:
                errors.add(
                    f"{at}.certificate_of_origin",
                    "A preference needs the reference of a certificate of origin.",
                )
        held = {p["agency"] for p in item_permits}
        # A permit cited is checked even when documents follow: a wrong one is not missing.
        for problem in _permit_problems(d, index + 1, item, item_permits, cited, on=on):
            errors.add(f"{at}.permits", problem)
        for rule in rules:
            if rule.covers(item, d) and rule.agency.code not in held and not provisional:
                errors.add(
                    f"{at}.permits",
                    f"HS {item.hs_code} needs a {rule.permit_type} from {rule.agency.name}.",
                )

    item_total = sum((item.value for item in items), Decimal("0"))
    if abs(item_total - d.invoice_total) > TOTAL_TOLERANCE:
        errors.add(
            "invoice_total",
            f"The invoice total {d.invoice_total} differs from the sum of the items, {item_total}.",
        )
    if d.gross_mass_kg is not None:
        net_total = sum((item.net_mass_kg for item in items), Decimal("0"))
        if net_total > d.gross_mass_kg:
            errors.add(
                "gross_mass_kg",
                f"The gross mass {d.gross_mass_kg} kg is below the items' net mass "
                f"of {net_total} kg.",
            )
        item_gross = [item.gross_mass_kg for item in items if item.gross_mass_kg is not None]
        if item_gross and len(item_gross) == len(items):
            gross_total = sum(item_gross, Decimal("0"))
            if abs(gross_total - d.gross_mass_kg) > d.gross_mass_kg * MASS_TOLERANCE:
                errors.add(
                    "gross_mass_kg",
                    f"The gross mass {d.gross_mass_kg} kg differs from the items' "
                    f"{gross_total} kg.",
                )
    return errors


def _provisional(declaration: Declaration, items, errors: Errors) -> bool:
    """Whether the declaration is lodged provisionally, its missing documents to follow.

    Only a relief consignment of an emergency whose measures let documents follow
    may be: asked of any other, the request is refused on `documents_follow`,
    naming why, and the documents it lacks are refused as they would be anyway.
    """
    d = declaration
    if not d.documents_follow:
        return False
    check = relief_check(d, items)
    if check.emergency is None:
        problem = "No emergency is in force: lodge the declaration with its documents."
    elif not check.relief:
        problem = "Only a relief consignment may be lodged with documents to follow. " + " ".join(
            check.problems
        )
    elif not check.emergency.documents_may_follow:
        problem = (
            f"The relief measures of {check.emergency.name} do not let documents follow: "
            "lodge the declaration with its documents."
        )
    else:
        return True
    errors.add("documents_follow", problem)
    for name in DOCUMENT_FIELDS:
        if not getattr(d, name):
            errors.add(name, BLANK)
    return False


@dataclass(frozen=True)
class OwedDocument:
    """A document a provisional declaration lodged without: what lodgement would
    otherwise have refused it for. `kind` is a Document.Kind value."""

    kind: str
    text: str
    line_no: int | None = None
    agency: str = ""
    permit_type: str = ""


def documents_missing(declaration: Declaration, items, permits: list[list[dict]]):
    """What the declaration lacks of the documents lodgement demands: the invoice and
    transport document numbers, each item's certificate of origin for a preference
    claimed, and the permits of the agencies that regulate its goods. A provisional
    relief declaration owes these (relief.services.owed_documents_open)."""
    d = declaration
    missing = [
        OwedDocument(kind=kind, text=label)
        for name, kind, label in (
            ("invoice_number", "invoice", "Commercial invoice (its number)"),
            ("transport_document", "transport_document", "Transport document (B/L or AWB)"),
        )
        if not getattr(d, name)
    ]
    rules = list(
        JurisdictionRule.objects.for_hs_codes(item.hs_code for item in items)
        .exclude(permit_type="")
        .select_related("agency")
        .order_by("agency__code", "hs_prefix")
    )
    for item, item_permits in zip(items, permits, strict=True):
        if item.preference and d.type != Declaration.Type.EXPORT and not item.certificate_of_origin:
            missing.append(
                OwedDocument(
                    kind="certificate_of_origin",
                    line_no=item.line_no,
                    text=f"Item {item.line_no}: certificate of origin for the {item.preference} "
                    "preference (the general rate applies until it is supplied)",
                )
            )
        held = {p["agency"] for p in item_permits}
        for rule in rules:
            if rule.covers(item, d) and rule.agency.code not in held:
                held.add(rule.agency.code)
                missing.append(
                    OwedDocument(
                        kind="permit",
                        line_no=item.line_no,
                        agency=rule.agency.code,
                        permit_type=rule.permit_type,
                        text=f"Item {item.line_no}: {rule.permit_type} from {rule.agency.name}",
                    )
                )
    return missing


# The offices each type of declaration must name (`Declaration.offices` roles).
REQUIRED_OFFICES = {
    Declaration.Type.IMPORT: {"entry": "An import names its office of entry."},
    Declaration.Type.EXPORT: {
        "departure": "An export names the office where it is cleared (office of departure).",
        "exit": "An export names the office of exit the goods leave by.",
    },
    Declaration.Type.TRANSIT: {
        "departure": "A transit movement names its office of departure.",
        "destination": "A transit movement names its office of destination.",
    },
}


# WCO Data Model procedure codes (as the EU's): the first two digits are the
# procedure requested, the last two the previous one (4000: release for free
# circulation with no previous procedure). 10-39 take goods out (10 permanent
# export, 21-23 temporary export and outward processing, 31 re-export); 40-79
# bring them in or keep them under a special procedure (40-49 release for home
# use, 51-53 inward processing and temporary admission, 61-68 re-importation,
# 71-78 warehousing and free zones); 80 is transit. A declaration's type
# names the direction, and its procedure must go the same way.
PROCEDURE_FIRST_DIGITS = {
    Declaration.Type.EXPORT: "123",
    Declaration.Type.IMPORT: "4567",
    Declaration.Type.TRANSIT: "8",
}
PROCEDURE_RANGES = {
    Declaration.Type.EXPORT: "an export is under 1000 to 3999 (1000: permanent export)",
    Declaration.Type.IMPORT: "an import is under 4000 to 7999 (4000: release for free circulation)",
    Declaration.Type.TRANSIT: "a transit movement is under 8000 to 8999 (8000: transit)",
}
# What a declaration that names no procedure is under: the usual one of its type
# (declarations.services applies it, for the pages and the API alike).
DEFAULT_PROCEDURE = {
    Declaration.Type.EXPORT: "1000",
    Declaration.Type.IMPORT: "4000",
    Declaration.Type.TRANSIT: "8000",
}


def procedure_errors(declaration: Declaration) -> Errors:
    """The procedure goes the way the declaration's type does."""
    errors = Errors()
    d = declaration
    if d.procedure[:1] not in PROCEDURE_FIRST_DIGITS[d.type]:
        errors.add(
            "procedure",
            f"Procedure {d.procedure} does not fit the declaration's type: "
            f"{PROCEDURE_RANGES[d.type]}.",
        )
    return errors


def export_errors(declaration: Declaration, items) -> Errors:
    """An export leaves the national territory for another country, declared by the
    exporter, and claims no preference: a preferential rate is granted by the
    country of import, on the certificate of origin the exporter sends with the goods."""
    errors = Errors()
    national = settings.NATIONAL_COUNTRY
    d = declaration
    if d.country_of_export != national:
        errors.add("country_of_export", f"An export leaves from {national}.")
    if d.country_of_destination == national:
        errors.add(
            "country_of_destination",
            f"An export goes to another country than {national}: name the country of destination.",
        )
    if not d.exporter_name:
        errors.add("exporter_name", "An export declaration names the exporter.")
    for index, item in enumerate(items):
        if item.preference:
            errors.add(
                f"items[{index}].preference",
                "An export claims no preference: the country of import grants it, on the "
                "certificate of origin sent with the goods.",
            )
    return errors


def office_errors(declaration: Declaration) -> Errors:
    errors = Errors()
    named = declaration.offices
    for role, message in REQUIRED_OFFICES[declaration.type].items():
        if role not in named:
            errors.add(f"office_of_{role}", message)
    if (
        declaration.type == Declaration.Type.TRANSIT
        and named.get("departure")
        and named.get("departure") == named.get("destination")
    ):
        errors.add("office_of_destination", "A transit movement ends at another office.")
    return errors


def closed_office_errors(declaration: Declaration) -> Errors:
    """An office closed for now (reference.OfficeClosure) may not be named: the goods
    could not be presented or cleared there. One query, read at the moment of
    lodgement rather than from the reference cache, so that a closure holds from the
    minute it is recorded, in every process."""
    errors = Errors()
    named = declaration.offices
    if not named:
        return errors
    closed = dict(
        OfficeClosure.objects.in_force()
        .filter(office_id__in=set(named.values()))
        .values_list("office_id", "closed_from")
    )
    for role, code in named.items():
        if code in closed:
            since = timezone.localtime(closed[code])
            errors.add(
                f"office_of_{role}",
                f"{office_label(code)} is closed since {since:%Y-%m-%d %H:%M}: "
                "name another office.",
            )
    return errors


def transit_errors(declaration: Declaration, items, *, on: date) -> Errors:
    """A transit movement's time limit and the guarantee covering the import duties and
    taxes it puts at stake (declarations.duties.import_duties), which must be the
    declarant's company's, accepted, valid on the day and with enough left to draw.

    This is the check a trader reads before lodging; the draw at lodgement checks
    the balance again under the guarantee's lock (guarantees.services.guarantee_draw).
    """
    errors = Errors()
    d = declaration
    if d.type != Declaration.Type.TRANSIT:
        if d.guarantee_reference:
            errors.add("guarantee_reference", "Only a transit movement cites a guarantee.")
        if d.transit_days is not None:
            errors.add("transit_days", "Only a transit movement has a time limit.")
        return errors
    limit = settings.TRANSIT_MAX_DAYS
    if d.transit_days is None:
        errors.add(
            "transit_days",
            f"A transit movement gives the days it has to reach its office of destination "
            f"(1 to {limit}).",
        )
    elif d.transit_days > limit:
        errors.add("transit_days", f"A transit movement has at most {limit} days.")
    if not d.guarantee_reference:
        errors.add(
            "guarantee_reference",
            "A transit movement cites the guarantee that covers its duties and taxes.",
        )
        return errors
    guarantee = Guarantee.objects.cited(d.guarantee_reference).first()
    if guarantee is None:
        errors.add("guarantee_reference", not_yours(d.guarantee_reference))
        return errors
    available = guarantee.balance
    if d.previous_version_id:
        # An amendment gives back what the version it replaces holds of the same guarantee.
        held = GuaranteeDraw.objects.filter(
            declaration_id=d.previous_version_id,
            guarantee=guarantee,
            status__in=GuaranteeDraw.ENGAGED,
        ).values_list("amount", flat=True)
        available += sum(held, Decimal("0"))
    at_stake = import_duties(d, items, on=on).total
    problem = guarantee.refusal(
        company_id=d.company_id, on=on, amount=at_stake, available=available
    )
    if problem:
        errors.add("guarantee_reference", problem)
    return errors


def rate_age_errors(declaration: Declaration, *, on: date) -> Errors:
    """Duties are computed at the rate of the day of acceptance: a rate the
    administration has not renewed for longer than it allows is no longer that
    day's, and lodging on it would assess the wrong amount."""
    errors = Errors()
    found = lookups.exchange_rate_in_force(declaration.currency, on)
    if found is None:
        return errors  # no rate at all: reference_errors names it
    published, _ = found
    limit = settings.EXCHANGE_RATE_MAX_AGE_DAYS
    age = (on - published).days
    if age > limit:
        errors.add(
            "currency",
            f"The newest {declaration.currency} exchange rate dates from {published}, {age} days "
            f"before {on}; lodgement needs a rate at most {limit} days old.",
        )
    return errors


def _permit_problems(declaration: Declaration, line: int, item, item_permits, cited, *, on: date):
    """Each cited permit must be one the agency issued to the declarant's company,
    for these goods, valid on the day of lodgement and not revoked.

    The declarant's company, not the importer named on the declaration: the
    importer's tax id is typed by the declarant and proves nothing, while the
    company is who signed in. A broker cites permits issued to itself.
    """
    for permit_ref in item_permits:
        number = permit_ref["reference"]
        permit = cited.get((permit_ref["agency"], number))
        if permit is None:
            yield f"Item {line}: permit {number} was not issued by {permit_ref['agency']}."
            continue
        refusal = permit.refusal(item, company_id=declaration.company_id, on=on)
        if refusal:
            yield f"Item {line}: permit {permit.number} {refusal}."


def _field_errors(declaration: Declaration, items, permits, *, on: date, duplicates: bool):
    errors = model_errors(declaration, items)
    if not errors:
        errors = reference_errors(declaration, items, permits, on=on)
        if duplicates:
            errors.update(duplicate_errors(declaration))
    return errors


# `duplicates=False` is for callers that store the declaration: the database's
# constraint then refuses a second live declaration of the invoice, and the
# service reports it on the field like this check would.


def validate_draft(
    declaration: Declaration, items, permits: list[dict], *, on: date, duplicates: bool = True
) -> None:
    """A draft may be incomplete, but what it says must be valid."""
    errors = _field_errors(declaration, items, permits, on=on, duplicates=duplicates)
    if errors:
        raise ValidationError(dict(errors))


def validate_lodgement(
    declaration: Declaration, items, permits: list[dict], *, on: date, duplicates: bool = True
) -> None:
    """Everything a declaration must satisfy to be lodged."""
    errors = _field_errors(declaration, items, permits, on=on, duplicates=duplicates)
    if not errors:
        errors = lodgement_errors(declaration, items, permits, on=on)
        errors.update(rate_age_errors(declaration, on=on))
    if errors:
        raise ValidationError(dict(errors))
