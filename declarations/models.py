from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.states import Stateful
from core.validators import validate_country_code, validate_currency_code

hs_code_validator = RegexValidator(
    r"^\d{6}(\d{2}){0,2}$", "An HS code is 6 digits (HS 2022) plus up to 4 national digits."
)


class Lane(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"


class Incoterm(models.TextChoices):
    """Incoterms 2020 (ICC)."""

    EXW = "EXW", "EXW Ex Works"
    FCA = "FCA", "FCA Free Carrier"
    CPT = "CPT", "CPT Carriage Paid To"
    CIP = "CIP", "CIP Carriage and Insurance Paid To"
    DAP = "DAP", "DAP Delivered at Place"
    DPU = "DPU", "DPU Delivered at Place Unloaded"
    DDP = "DDP", "DDP Delivered Duty Paid"
    FAS = "FAS", "FAS Free Alongside Ship"
    FOB = "FOB", "FOB Free on Board"
    CFR = "CFR", "CFR Cost and Freight"
    CIF = "CIF", "CIF Cost, Insurance and Freight"


MONEY = {"max_digits": 18, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]
POSITIVE_MASS = [MinValueValidator(Decimal("0.001"))]


# Lodged and not yet released or ended (Declaration.AT_OFFICE), for its indexes.
AT_OFFICE_STATUSES = [
    "submitted", "under_review", "queried", "assessed", "paid", "held", "detained",
]  # fmt: skip


class Declaration(Stateful, models.Model):
    class Type(models.TextChoices):
        IMPORT = "IM", "Import"
        EXPORT = "EX", "Export"
        TRANSIT = "TR", "Transit"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        UNDER_REVIEW = "under_review", "Under review"
        QUERIED = "queried", "Queried"
        ASSESSED = "assessed", "Assessed"
        PAID = "paid", "Paid"
        RELEASED = "released", "Released"
        # An export ends when the office of exit confirms the goods left; a
        # transit movement when the office of destination discharges it.
        EXITED = "exited", "Exit confirmed"
        ARRIVED = "arrived", "Arrived at destination"
        DISCHARGED = "discharged", "Discharged"
        HELD = "held", "Held"
        # What an inspection found may not pass (prohibited or undeclared goods):
        # nothing moves until a customs supervisor releases them to review or
        # seizes them.
        DETAINED = "detained", "Detained"
        SEIZED = "seized", "Seized"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"
        AMENDED = "amended", "Replaced by an amendment"

    # Every status a declaration may move to from each status; a move that is
    # not here is refused, whoever asks.
    TRANSITIONS = {
        Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
        Status.SUBMITTED: frozenset(
            {Status.UNDER_REVIEW, Status.HELD, Status.REJECTED, Status.AMENDED}
        ),
        Status.UNDER_REVIEW: frozenset(
            {
                Status.QUERIED,
                Status.ASSESSED,
                Status.HELD,
                Status.DETAINED,
                Status.REJECTED,
                Status.CANCELLED,
                Status.AMENDED,
            }
        ),
        Status.QUERIED: frozenset(
            {
                Status.UNDER_REVIEW,
                Status.DETAINED,
                Status.REJECTED,
                Status.CANCELLED,
                Status.AMENDED,
            }
        ),
        # Released from assessed: nothing was due.
        Status.ASSESSED: frozenset(
            {Status.PAID, Status.RELEASED, Status.HELD, Status.CANCELLED, Status.AMENDED}
        ),
        Status.PAID: frozenset({Status.RELEASED, Status.HELD}),
        Status.HELD: frozenset({Status.UNDER_REVIEW, Status.REJECTED, Status.AMENDED}),
        # Neither cancelled nor amended by the declarant: detained goods are the
        # supervisor's to release or seize.
        Status.DETAINED: frozenset({Status.UNDER_REVIEW, Status.SEIZED}),
        Status.SEIZED: frozenset(),
        # Released is the end of an import; an export is released for exit and a
        # transit movement released under seal at its office of departure.
        Status.RELEASED: frozenset({Status.EXITED, Status.ARRIVED}),
        Status.EXITED: frozenset(),
        Status.ARRIVED: frozenset({Status.DISCHARGED}),
        Status.DISCHARGED: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.AMENDED: frozenset(),
    }
    # Statuses in which the agencies' reviews are worked (claimed, queried, decided)
    # and a supervisor may change the lane.
    REVIEWING = frozenset({Status.UNDER_REVIEW, Status.QUERIED})
    # Lodged and not yet released or ended: the work waiting at the declaration's
    # control office, which a closed office's is diverted from (clearance.continuity).
    AT_OFFICE = frozenset(AT_OFFICE_STATUSES)
    # Amounts in the invoice currency and amounts computed in the national one:
    # risk rules compare both in the national currency (risk.criteria).
    INVOICE_MONEY = ("invoice_total", "freight", "insurance")
    NATIONAL_MONEY = ("customs_value_total", "duty_total", "vat_total")

    class TransportMode(models.TextChoices):
        # UN/ECE Recommendation 19 codes
        SEA = "1", "Maritime"
        RAIL = "2", "Rail"
        ROAD = "3", "Road"
        AIR = "4", "Air"
        POST = "5", "Postal"
        FIXED = "7", "Fixed installation"
        INLAND_WATER = "8", "Inland waterway"

    company = models.ForeignKey(
        "accounts.Company", on_delete=models.PROTECT, related_name="declarations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    type = models.CharField(max_length=2, choices=Type, default=Type.IMPORT)
    procedure = models.CharField(
        max_length=4,
        default="4000",
        validators=[RegexValidator(r"^\d{4}$", "A procedure code is 4 digits.")],
    )
    # Parties (WCO data model, simplified): the declarant is `company`.
    importer_name = models.CharField(max_length=200, blank=True)
    importer_tax_id = models.CharField(max_length=32, blank=True)
    exporter_name = models.CharField(max_length=200, blank=True)
    exporter_country = models.CharField(
        max_length=2, blank=True, validators=[validate_country_code]
    )
    consignor_name = models.CharField(max_length=200, blank=True)
    consignee_name = models.CharField(max_length=200, blank=True)

    country_of_export = models.CharField(max_length=2, validators=[validate_country_code])
    country_of_origin = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country_code],
        help_text="When every item has the same origin.",
    )
    country_of_destination = models.CharField(max_length=2, validators=[validate_country_code])
    # Customs offices by role, as UN/LOCODEs (reference.Office): an import names
    # its office of entry; an export its office of departure (where it is
    # cleared) and of exit; a transit movement its offices of departure and
    # destination and the route between them.
    office_of_entry = models.CharField(
        max_length=8, blank=True, help_text="UN/LOCODE of the customs office"
    )
    office_of_exit = models.CharField(max_length=8, blank=True)
    office_of_departure = models.CharField(max_length=8, blank=True)
    office_of_destination = models.CharField(max_length=8, blank=True)
    itinerary = ArrayField(
        models.CharField(max_length=8),
        default=list,
        blank=True,
        help_text="The route in order: office codes or ISO 3166 country codes.",
    )
    transport_mode = models.CharField(max_length=1, choices=TransportMode)
    # Required at lodgement (declarations.validation) unless a provisional relief
    # declaration owes them (documents_follow): blank in the model for that alone.
    transport_document = models.CharField(max_length=64, blank=True, help_text="B/L or AWB number")
    invoice_number = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    incoterm = models.CharField(max_length=3, choices=Incoterm, default=Incoterm.FOB)
    invoice_total = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    freight = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    insurance = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    packages = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    gross_mass_kg = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, validators=POSITIVE_MASS
    )

    # Set when the declaration is lodged and again when customs assesses it.
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    customs_value_total = models.DecimalField(**MONEY, null=True, blank=True)
    duty_total = models.DecimalField(**MONEY, null=True, blank=True)
    vat_total = models.DecimalField(**MONEY, null=True, blank=True)
    # Duties and taxes an inspection found missing (a reassessment), added to
    # what was computed at lodgement.
    additional_due = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    assessed_at = models.DateTimeField(null=True, blank=True)
    # When the goods were released (the move to released, whichever step made it).
    released_at = models.DateTimeField(null=True, blank=True)
    # Set, once, when the office of exit has not confirmed an export's exit within
    # settings.EXPORT_EXIT_DAYS of its release: the job that tells its staff and the
    # declarant claims the declaration by setting it (clearance.exports).
    exit_overdue_at = models.DateTimeField(null=True, blank=True)
    # Seals the office of departure puts on a transit movement's means of
    # transport; device events name them.
    seal_numbers = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # A seal or sensor alert obliges the office of destination to inspect the
    # goods before it discharges the movement.
    destination_inspection_required = models.BooleanField(default=False)
    # A transit movement: the guarantee the declarant cites (guarantees.Guarantee
    # reference) and the days it has to reach the office of destination, counted
    # from its release under seal, which sets the deadline. The overdue sweep
    # sets transit_overdue_at once, when the deadline passes without an arrival.
    guarantee_reference = models.CharField(
        max_length=35,
        blank=True,
        help_text="Transit: the reference of the guarantee covering the duties at stake.",
    )
    transit_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Transit: days to reach the office of destination once released under seal.",
    )
    transit_deadline = models.DateTimeField(null=True, blank=True)
    transit_overdue_at = models.DateTimeField(null=True, blank=True)
    # A relief consignment: the emergency in force at lodgement under which it
    # qualifies (emergencies.selectors.relief_for), whose measures it gets; and
    # the import duties and taxes that emergency's duty relief forgave.
    emergency = models.ForeignKey(
        "emergencies.Emergency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="relief_consignments",
    )
    duties_relieved = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    # The declarant asks to lodge a relief consignment provisionally: what lodgement
    # demands of documents (invoice and transport document numbers, permits,
    # certificates of origin) may follow, within the emergency's deadline
    # (relief.models.ProvisionalDeclaration keeps what is owed). Goods data never follows.
    documents_follow = models.BooleanField(
        "documents to follow",
        default=False,
        help_text="A relief consignment during an emergency whose measures allow it: lodge "
        "now, supply the missing documents within the deadline.",
    )

    # An amendment after lodgement is a new row; the one it replaces is kept.
    version = models.PositiveIntegerField(default=1)
    previous_version = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    first_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    lane = models.CharField(max_length=8, choices=Lane, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="invoice_total_positive", condition=Q(invoice_total__gt=0)),
            models.CheckConstraint(
                name="lane_only_after_submission",
                condition=Q(lane="") | ~Q(status__in=["draft", "submitted"]),
            ),
            # One live declaration per invoice and trader; replaced versions
            # and cancelled declarations keep theirs.
            # A provisional relief declaration may have no invoice number yet.
            models.UniqueConstraint(
                fields=["company", "invoice_number"],
                condition=~Q(status__in=["cancelled", "amended"]) & ~Q(invoice_number=""),
                name="unique_live_invoice_per_company",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="declaration_company_idx"),
            models.Index(
                fields=["company", "status", "-created_at"], name="declaration_company_state_idx"
            ),
            # The dashboard's other filters and sort orders.
            models.Index(
                fields=["company", "lane", "-created_at"], name="declaration_company_lane_idx"
            ),
            models.Index(
                fields=["company", "-invoice_total"], name="declaration_company_value_idx"
            ),
            models.Index(
                fields=["company", "-submitted_at"], name="declaration_company_submit_idx"
            ),
            models.Index(
                fields=["company", "invoice_number"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="declaration_invoice_prefix_idx",
            ),
            # Exports released for exit and not yet confirmed: the office of exit's
            # list, oldest first, and the job that flags the overdue ones.
            models.Index(
                fields=["office_of_exit", "released_at"],
                condition=Q(type="EX", status="released"),
                name="declaration_awaiting_exit_idx",
            ),
            # A device event finds its movement by seal number: each batch of events
            # probes it once per seal. Without a pending list (fastupdate), which every
            # probe would scan in full until a vacuum merges it: 80 us a probe with
            # 800 entries waiting, 2 us without.
            GinIndex(fields=["seal_numbers"], name="declaration_seal_idx", fastupdate=False),
            # The movements an office works: departures to seal, arrivals expected.
            models.Index(
                fields=["office_of_departure", "status"],
                condition=Q(type="TR"),
                name="transit_departure_idx",
            ),
            models.Index(
                fields=["office_of_destination", "status", "transit_deadline"],
                condition=Q(type="TR"),
                name="transit_destination_idx",
            ),
            # The overdue sweep: sealed movements past their deadline, not yet flagged.
            models.Index(
                fields=["transit_deadline"],
                condition=Q(type="TR", status="released", transit_overdue_at__isnull=True),
                name="transit_overdue_idx",
            ),
            # The risk sweeper looks for submitted declarations still without a lane.
            models.Index(
                fields=["submitted_at"],
                condition=Q(status="submitted"),
                name="declaration_unscored_idx",
            ),
            # The work waiting at an office (Declaration.AT_OFFICE), by control office:
            # what a closed office's diversion reads (an import's office of entry, an
            # export's or a movement's office of departure).
            models.Index(
                fields=["office_of_entry", "submitted_at"],
                condition=Q(type="IM", status__in=AT_OFFICE_STATUSES),
                name="declaration_waiting_entry_idx",
            ),
            models.Index(
                fields=["office_of_departure", "submitted_at"],
                condition=Q(type__in=["EX", "TR"], status__in=AT_OFFICE_STATUSES),
                name="declaration_waiting_depart_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """Public reference: the first version's number, with /n for amendments."""
        if not self.pk:
            return "(unsaved)"
        base = f"{self.type}-{self.lineage_id:08d}"
        return base if self.version == 1 else f"{base}/{self.version}"

    @property
    def lineage_id(self) -> int:
        return self.first_version_id or self.pk

    @property
    def control_office(self) -> str:
        """The office whose officers clear the declaration: the office of entry of an
        import, the office of departure of an export or a transit movement."""
        if self.type == self.Type.IMPORT:
            return self.office_of_entry
        return self.office_of_departure

    @property
    def control_office_field(self) -> str:
        """The field that names the control office (see control_office)."""
        return "office_of_entry" if self.type == self.Type.IMPORT else "office_of_departure"

    @property
    def offices(self) -> dict[str, str]:
        """The offices the declaration names, by role."""
        roles = {
            "entry": self.office_of_entry,
            "departure": self.office_of_departure,
            "exit": self.office_of_exit,
            "destination": self.office_of_destination,
        }
        return {role: code for role, code in roles.items() if code}

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def awaits_lane(self) -> bool:
        """Lodged and waiting for the risk engine (the page polls until it moves)."""
        return self.status == self.Status.SUBMITTED

    @property
    def accepts_documents(self) -> bool:
        """Documents are added while the declaration can still change: as a draft, or
        as long as it may be amended."""
        return self.is_draft or self.may_become(self.Status.AMENDED)

    @property
    def is_under_review(self) -> bool:
        return self.status in self.REVIEWING

    @property
    def acceptance_day(self) -> date:
        """The day customs accepted the declaration (lodged it, or this amendment) in the
        administration's time zone: every amount of it is at that day's rates. Before
        lodgement, today."""
        if self.submitted_at is None:
            return timezone.localdate()
        return timezone.localdate(self.submitted_at)

    @property
    def exit_due_by(self) -> datetime | None:
        """When the office of exit must have confirmed that an export released for exit
        left (settings.EXPORT_EXIT_DAYS after release); None for anything else."""
        if self.type != self.Type.EXPORT or self.released_at is None:
            return None
        return self.released_at + timedelta(days=settings.EXPORT_EXIT_DAYS)

    @property
    def exit_overdue(self) -> bool:
        """Released for exit and still not seen leaving past its time (flagged or not yet)."""
        due_by = self.exit_due_by
        return (
            self.status == self.Status.RELEASED
            and due_by is not None
            and (self.exit_overdue_at is not None or due_by < timezone.now())
        )

    @property
    def total_due(self) -> Decimal | None:
        if self.duty_total is None or self.vat_total is None:
            return None
        return self.duty_total + self.vat_total + self.additional_due

    @property
    def is_transit(self) -> bool:
        return self.type == self.Type.TRANSIT

    @property
    def is_overdue(self) -> bool:
        """A movement flagged for not reaching its office of destination in time."""
        return self.transit_overdue_at is not None


class Item(models.Model):
    INVOICE_MONEY = ("value",)
    NATIONAL_MONEY = ("customs_value", "duty_amount", "vat_amount")

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="items")
    line_no = models.PositiveIntegerField()
    hs_code = models.CharField("HS code", max_length=10, validators=[hs_code_validator])
    description = models.CharField(max_length=300)
    origin_country = models.CharField(max_length=2, validators=[validate_country_code])
    quantity = models.DecimalField(
        max_digits=16, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    unit = models.CharField(
        max_length=3,
        validators=[
            RegexValidator(r"^[A-Z0-9]{2,3}$", "A unit is a UN/ECE Rec 20 code such as KGM.")
        ],
        help_text="UN/ECE Recommendation 20 unit code",
    )
    net_mass_kg = models.DecimalField(max_digits=16, decimal_places=3, validators=POSITIVE_MASS)
    gross_mass_kg = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, validators=POSITIVE_MASS
    )
    value = models.DecimalField(
        "invoice value", **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    preference = models.CharField(
        "preference claimed",
        max_length=16,
        blank=True,
        help_text="Code of the trade agreement whose preferential rate is claimed.",
    )
    certificate_of_origin = models.CharField(max_length=64, blank=True)

    # Computed in the national currency when lodged and when assessed.
    customs_value = models.DecimalField(**MONEY, null=True, blank=True)
    duty_rate = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    duty_amount = models.DecimalField(**MONEY, null=True, blank=True)
    vat_amount = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["declaration", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "line_no"], name="unique_item_line"),
            models.CheckConstraint(name="item_quantity_positive", condition=Q(quantity__gt=0)),
            models.CheckConstraint(name="item_mass_positive", condition=Q(net_mass_kg__gt=0)),
            models.CheckConstraint(name="item_value_positive", condition=Q(value__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}/{self.line_no} HS {self.hs_code}"


class ItemPermit(models.Model):
    """A permit (or licence, certificate) of an agency that regulates the item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="permits")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=64)

    class Meta:
        ordering = ["item", "agency"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "agency"], name="one_permit_per_agency_and_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} permit {self.reference}"


def document_path(document: "Document", filename: str) -> str:
    # Stored under the content hash, never under the uploader's file name.
    return f"documents/{document.sha256[:2]}/{document.sha256}"


class Document(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Commercial invoice"
        PACKING_LIST = "packing_list", "Packing list"
        TRANSPORT = "transport_document", "Transport document"
        CERTIFICATE_OF_ORIGIN = "certificate_of_origin", "Certificate of origin"
        PERMIT = "permit", "Permit"

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="documents")
    # A draft's items are replaced when it is edited; its documents stay.
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    kind = models.CharField(max_length=24, choices=Kind)
    file = models.FileField(upload_to=document_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["declaration", "uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class InvoiceReading(Stateful, models.Model):
    """What the machine read on an uploaded commercial invoice (declarations.reading).

    Opened when the invoice is uploaded and read by a worker once the upload has
    committed (declarations.tasks.read_invoice): reading takes 15 to 80 ms of CPU a
    page (bench/invoice_extraction.py), twice that on a busy machine, and seconds for
    a long invoice, which an upload's request should not wait for. A
    picture, or a PDF without text (a scan), is not readable: nothing is guessed
    from it. Amounts are in the invoice's own currency, as printed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being read"
        READ = "read", "Read"
        NOT_READABLE = "not_readable", "Not readable"
        FAILED = "failed", "Could not be read"

    TRANSITIONS = {
        Status.PENDING: frozenset({Status.READ, Status.NOT_READABLE, Status.FAILED}),
        Status.READ: frozenset(),
        Status.NOT_READABLE: frozenset(),
        Status.FAILED: frozenset(),
    }

    document = models.OneToOneField(
        Document, on_delete=models.CASCADE, related_name="invoice_reading"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    invoice_number = models.CharField(max_length=64, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    seller = models.CharField(max_length=200, blank=True)
    buyer = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    total = models.DecimalField(**MONEY, null=True, blank=True)
    # [{"description", "quantity", "unit_price", "amount"}], numbers as decimal strings.
    lines = models.JSONField(default=list, blank=True)
    # What the reader could not do or had to choose, in words for the trader.
    notes = models.JSONField(default=list, blank=True)
    pages = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Worker attempts, counted before each one: a file that kills the worker is
    # given up after a few, rather than redelivered forever.
    attempts = models.PositiveSmallIntegerField(default=0)
    # The library and version that read it, for reading again after an upgrade.
    reader = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="invoice_reading_done_has_time",
                condition=Q(status="pending") | Q(read_at__isnull=False),
            ),
        ]
        indexes = [
            # The sweeper looks for readings still pending a while after the upload.
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="invoice_reading_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"reading of document {self.document_id}: {self.status}"

    @property
    def is_done(self) -> bool:
        return self.status != self.Status.PENDING

    def line_values(self) -> list[dict]:
        """The lines with their numbers as Decimals (None where the invoice left a cell
        empty)."""
        return [
            {
                key: (Decimal(value) if value is not None and key != "description" else value)
                for key, value in line.items()
            }
            for line in self.lines
        ]


class Payment(Stateful, models.Model):
    """The payment order for a declaration's duties and taxes, and its confirmation.

    The declarant asks for the order; its reference is the platform's, and the
    payer's bank (a signed notification) or a customs cashier cites it to
    confirm the payment. The declarant's word never confirms it; the goods
    are released only once it is confirmed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        CONFIRMED = "confirmed", "Confirmed"

    class Source(models.TextChoices):
        BANK = "bank", "Payer's bank"
        CASHIER = "cashier", "Customs cashier"

    TRANSITIONS = {
        Status.PENDING: frozenset({Status.CONFIRMED}),
        Status.CONFIRMED: frozenset(),
    }

    declaration = models.OneToOneField(
        Declaration, on_delete=models.PROTECT, related_name="payment"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    # Issued by the platform (PAY-<year>-<random>): what the payer's bank cites.
    reference = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    created_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The declarant who asked for the payment order.",
    )
    # Set by the confirmation: when the payer paid, by which channel, the bank's
    # (or the cashier's counter) reference, and the receipt the platform issues.
    paid_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source, blank=True)
    bank_reference = models.CharField(max_length=64, blank=True)
    receipt_number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The cashier who recorded it; empty when the bank confirmed it.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="confirmed_payment_has_time",
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False),
            ),
            models.CheckConstraint(
                name="confirmed_payment_has_receipt",
                condition=~Q(status="confirmed")
                | (
                    Q(paid_at__isnull=False, receipt_number__isnull=False)
                    & ~Q(source="")
                    & ~Q(bank_reference="")
                ),
            ),
            models.CheckConstraint(
                name="cashier_payment_names_the_cashier",
                condition=~Q(source="cashier") | Q(confirmed_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} {self.currency}"

    def bank_url(self, *, return_url: str) -> str:
        """Where the payer pays this order at the bank, which sends them back to return_url;
        empty when no bank is configured (they pay at a customs cashier)."""
        if not settings.PAYMENT_BANK_URL:
            return ""
        query = urlencode(
            {
                "reference": self.reference,
                "amount": f"{self.amount:.2f}",
                "currency": self.currency,
                "return_url": return_url,
            }
        )
        return f"{settings.PAYMENT_BANK_URL}?{query}"


class TransitArrival(models.Model):
    """What the office of destination found when a transit movement arrived, the
    control it made there, and how customs settled what did not match.

    Discrepancies (seals broken or not those put on at departure, goods
    missing, a late arrival, a control that found a problem) keep the
    guarantee engaged: the movement is discharged only once a customs
    supervisor other than the officers who recorded them resolves them with a
    reason (clearance.transit). The declarant reads that the goods arrived,
    never these notes.
    """

    class ControlResult(models.TextChoices):
        NO_DISCREPANCY = "no_discrepancy", "No discrepancy"
        DISCREPANCY = "discrepancy", "Discrepancies found"

    declaration = models.OneToOneField(
        Declaration, on_delete=models.PROTECT, related_name="transit_arrival"
    )
    arrived_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    seals_intact = models.BooleanField()
    seal_numbers_found = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    discrepancies = models.TextField(blank=True, help_text="Goods missing, damaged, or else.")
    # Required after a seal or sensor alert (Declaration.destination_inspection_required).
    control_result = models.CharField(max_length=16, choices=ControlResult, blank=True)
    control_notes = models.TextField(blank=True)
    controlled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    controlled_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="transit_control_complete",
                condition=Q(control_result="")
                | Q(controlled_by__isnull=False, controlled_at__isnull=False),
            ),
            models.CheckConstraint(
                name="transit_resolution_complete",
                condition=Q(resolved_at__isnull=True)
                | (Q(resolved_by__isnull=False) & ~Q(resolution="")),
            ),
        ]

    def __str__(self) -> str:
        return f"arrival of {self.declaration_id} at {self.arrived_at:%Y-%m-%d %H:%M}"

    def findings(self, declaration: Declaration) -> list[str]:
        """What did not match, in words; empty for a clean arrival."""
        found = []
        if not self.seals_intact:
            found.append("seals not intact")
        put, seen = set(declaration.seal_numbers), set(self.seal_numbers_found)
        if put - seen:
            found.append("seals missing: " + ", ".join(sorted(put - seen)))
        if seen - put:
            found.append("seals not put at departure: " + ", ".join(sorted(seen - put)))
        if declaration.transit_deadline and self.arrived_at > declaration.transit_deadline:
            deadline = timezone.localtime(declaration.transit_deadline)
            found.append(f"arrived after the time limit ({deadline:%Y-%m-%d %H:%M})")
        elif declaration.transit_overdue_at:
            # Flagged before anyone recorded it as arrived: whatever time is typed now,
            # the guarantee it kept is released only the way discrepancies are.
            flagged = timezone.localtime(declaration.transit_overdue_at)
            found.append(f"flagged overdue at {flagged:%Y-%m-%d %H:%M} before its arrival")
        if self.discrepancies.strip():
            found.append(self.discrepancies.strip())
        if self.control_result == self.ControlResult.DISCREPANCY:
            found.append("the control at destination found discrepancies")
        return found

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class ExitConfirmation(models.Model):
    """The office of exit's record that an export's goods left the country: what ends
    an export (declaration status exited).

    A row of its own rather than columns on every declaration: only exports have
    one, it has its own author and facts, and the one-to-one key makes "confirmed
    once" the database's rule. The officer's notes are for customs; the declarant
    reads when and how the goods left.
    """

    declaration = models.OneToOneField(
        Declaration, on_delete=models.PROTECT, related_name="exit_confirmation"
    )
    # The declaration's office of exit, where the officer who confirmed it is posted.
    office = models.CharField(max_length=8)
    exited_at = models.DateTimeField(help_text="When the goods left the country.")
    transport_mode = models.CharField(max_length=1, choices=Declaration.TransportMode)
    transport_identity = models.CharField(
        max_length=100,
        help_text="The means of transport the goods left on: vessel and voyage, flight, "
        "truck or wagon number.",
    )
    notes = models.TextField(blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="exit_confirmed_after_it_happened",
                condition=Q(exited_at__lte=models.F("confirmed_at")),
            ),
            models.CheckConstraint(
                name="exit_names_its_transport", condition=~Q(transport_identity="")
            ),
        ]

    def __str__(self) -> str:
        return f"exit of {self.declaration_id} at {self.office}"


class OfficeDiversion(models.Model):
    """A declaration's control office changed because its office closed: from which office
    to which, under which closure, who diverted it and why (the record of the move; the
    declaration's audit trail has its entry too).

    The declaration's open reviews moved with it, into the new office's queues
    (`reviews`: the agencies whose reviews moved).
    """

    declaration = models.ForeignKey(
        Declaration, on_delete=models.PROTECT, related_name="diversions"
    )
    # office_of_entry or office_of_departure (Declaration.control_office_field).
    field = models.CharField(max_length=24)
    from_office = models.CharField(max_length=8)
    to_office = models.CharField(max_length=8)
    closure = models.ForeignKey(
        "reference.OfficeClosure", on_delete=models.PROTECT, related_name="diversions"
    )
    reason = models.TextField()
    reviews = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    diverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    diverted_at = models.DateTimeField()

    class Meta:
        ordering = ["diverted_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="diversion_changes_office", condition=~Q(from_office=models.F("to_office"))
            ),
            models.CheckConstraint(name="diversion_has_reason", condition=~Q(reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}: {self.from_office} -> {self.to_office}"


class DeclarationEvent(models.Model):
    """Append-only, hash-chained audit trail of one declaration.

    Each entry stores the hash of the previous entry of the same declaration,
    so the chain is extended under the declaration's row lock and filing never
    serialises on a global lock. The hash is an HMAC under the key `key_id`
    names (settings.AUDIT_HMAC_KEYS), which the database does not hold, so
    whoever can write the table still cannot recompute a chain. The
    application's role may only insert and read; a trigger refuses UPDATE and
    DELETE to everyone else.
    """

    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # What the declarant reads of this entry: the step in words and what to do
    # next, never the reasons, scores or notes above. Empty: not shown to them.
    notice = models.CharField(max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)

    class Meta:
        ordering = ["declaration", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "seq"], name="unique_event_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}#{self.seq} {self.action}"


class AuditAnchor(models.Model):
    """A copy of one anchor published into settings.AUDIT_ANCHOR_DIR.

    The anchor is the digest of every audit chain's head and of the
    configuration audit log at one moment, signed with a key outside the
    database. The file is the copy that counts; this row is for convenience,
    append-only like the trail.
    """

    published_at = models.DateTimeField()
    digest = models.CharField(max_length=64, unique=True)
    # The signed document exactly as written to the file (declarations.audit).
    document = models.TextField()

    class Meta:
        ordering = ["published_at"]

    def __str__(self) -> str:
        return f"anchor {self.published_at:%Y-%m-%d %H:%M} {self.digest[:12]}"


class DeclarationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Declaration, on_delete=models.CASCADE)


class DeclarationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Declaration, on_delete=models.CASCADE)
