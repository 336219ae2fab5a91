from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from agencies.models import Review
from core.permissions import objects_granted
from declarations.models import Declaration, DeclarationEvent, Document
from declarations.reading.comparison import latest_invoice
from relief.models import OwedDocument


def declaration_list(*, user) -> QuerySet[Declaration]:
    """The declarations this user may see as a whole.

    Traders: their company's, through the company group's grants (the
    company filter is redundant with the grants but lets PostgreSQL use the
    company index). Analysts and administrators: all. Agency staff see
    declarations only through their agency's reviews (agencies.selectors),
    which hold just their slice.
    """
    queryset = Declaration.objects.select_related("company", "lane_decision")
    if user.is_trader:
        return objects_granted(
            user=user,
            perm="declarations.view_declaration",
            queryset=queryset.filter(company_id=user.company_id),
        )
    if user.is_analyst or user.is_platform_admin:
        return queryset
    return queryset.none()


def get_declaration_for_user(*, user, pk, with_details: bool = False) -> Declaration:
    """One declaration, or 404 when it does not exist or the user may not see it.

    with_details prefetches what the declaration page and API show.
    """
    queryset = declaration_list(user=user)
    if with_details:
        queryset = queryset.select_related(
            "payment",
            "next_version",
            "exit_confirmation",
            "guarantee_draw__guarantee",
            "transit_arrival",
            # A provisional relief declaration's documents to follow (relief app).
            "provisional__emergency",
        ).prefetch_related(
            Prefetch(
                "provisional__documents",
                queryset=OwedDocument.objects.select_related("item", "agency"),
            ),
            "items__permits__agency",
            Prefetch(
                "reviews", queryset=Review.objects.select_related("agency").order_by("agency__code")
            ),
            # With what the machine read on each invoice: the declaration is compared
            # with it (declarations.reading.comparison) without another query.
            Prefetch(
                "documents",
                queryset=Document.objects.select_related("item", "invoice_reading"),
            ),
            Prefetch("events", queryset=DeclarationEvent.objects.select_related("actor__agency")),
        )
    return get_object_or_404(queryset, pk=pk)


def document_list_for_user(*, user, declaration_pk) -> QuerySet[Document]:
    """The documents of one declaration that this user may open.

    Traders, analysts and administrators: every document of a declaration
    they may see. Agency staff, of a declaration their agency reviews at one of
    their offices: customs sees all; another agency sees the documents linked
    to the items of its review.
    """
    documents = Document.objects.filter(declaration_id=declaration_pk).select_related(
        "item", "invoice_reading"
    )
    if not user.is_agency_staff:
        if not declaration_list(user=user).filter(pk=declaration_pk).exists():
            raise Http404
        return documents
    reviews = objects_granted(
        user=user,
        perm="agencies.view_review",
        queryset=Review.objects.worked_by(user).filter(declaration_id=declaration_pk),
    ).select_related("agency")
    review = reviews.first()
    if review is None:
        raise Http404
    if review.agency.is_customs:
        return documents
    return documents.filter(item__in=review.items.all())


def get_document_for_user(*, user, declaration_pk, pk) -> Document:
    return get_object_or_404(
        document_list_for_user(user=user, declaration_pk=declaration_pk), pk=pk
    )


def latest_invoice_for_user(*, user, declaration_pk) -> Document | None:
    """The invoice most recently uploaded to a declaration the user may see as a whole,
    with what the machine read on it; 404 when the user may not see the declaration."""
    declaration = get_declaration_for_user(user=user, pk=declaration_pk)
    return latest_invoice(declaration.documents.select_related("invoice_reading"))


def sees_targeting(user) -> bool:
    """Who may read why a declaration got its lane (score, rules, model, officers' notes)
    on the declaration itself. Officers read it for their slice on their review."""
    return user.is_analyst or user.is_platform_admin


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    text: str
    by: str


def declarant_history(declaration) -> list[HistoryEntry]:
    """The declaration's history as its declarant reads it: each step's notice, and who
    took it (a colleague by name, an agency by its name, or the platform). The
    officers' reasons and data behind the steps are not in it."""
    return [
        HistoryEntry(
            at=event.at,
            text=event.notice,
            by=name_for_declarant(event.actor, company_id=declaration.company_id),
        )
        for event in declaration.events.all()
        if event.notice
    ]


def name_for_declarant(actor, *, company_id: int) -> str:
    """Who took a step, as the declarant reads it: a colleague by name, an officer by
    their agency (never the officer's own name), the platform as itself."""
    if actor is None:
        return "Single Window"
    if actor.company_id == company_id:
        return actor.get_full_name() or actor.username
    if actor.agency_id is not None:
        return actor.agency.name
    return "Administration"


# ---- The office of exit ----------------------------------------------------------------


def is_customs_staff(user) -> bool:
    """A customs officer or supervisor: who works at customs offices."""
    return bool(
        user.is_authenticated and user.is_agency_staff and user.agency_id and user.agency.is_customs
    )


def exit_offices(user) -> list[str]:
    """The offices where this user confirms that exports left: a customs officer's or
    supervisor's posts. Nobody else confirms an exit anywhere."""
    if not is_customs_staff(user):
        return []
    return sorted(user.offices.values_list("code", flat=True))


def export_exit_list(*, user, offices=None) -> QuerySet[Declaration]:
    """The lodged exports that leave by one of the user's offices (exit_offices), of
    `offices` only if given: what the office of exit sees of them. Anyone else: none."""
    codes = exit_offices(user)
    if offices:
        codes = [code for code in codes if code in offices]
    return (
        Declaration.objects.filter(type=Declaration.Type.EXPORT, office_of_exit__in=codes)
        .exclude(status=Declaration.Status.DRAFT)
        .select_related("company", "exit_confirmation")
    )


def exports_awaiting_exit(*, user, offices=None) -> QuerySet[Declaration]:
    """Released exports whose exit the user's offices have still to confirm: those
    flagged overdue first, then the longest released."""
    return (
        export_exit_list(user=user, offices=offices)
        .filter(status=Declaration.Status.RELEASED)
        .order_by(F("exit_overdue_at").asc(nulls_last=True), "released_at", "pk")
    )


def get_export_for_exit(*, user, pk) -> Declaration:
    """One export that leaves by one of the user's offices, or 404."""
    queryset = export_exit_list(user=user).prefetch_related("items")
    return get_object_or_404(queryset, pk=pk)


def declarations_waiting_at(office_code: str) -> QuerySet[Declaration]:
    """The declarations lodged and not yet released or ended (Declaration.AT_OFFICE)
    whose control office is this one: an import's office of entry, an export's or a
    transit movement's office of departure. Read from the two partial indexes of
    waiting work, oldest lodgement first. For whoever manages the office (the
    caller checks who that is)."""
    waiting = list(Declaration.AT_OFFICE)
    imports = Declaration.objects.filter(
        type=Declaration.Type.IMPORT, status__in=waiting, office_of_entry=office_code
    )
    departures = Declaration.objects.filter(
        type__in=[Declaration.Type.EXPORT, Declaration.Type.TRANSIT],
        status__in=waiting,
        office_of_departure=office_code,
    )
    return (imports | departures).order_by("submitted_at", "pk")
