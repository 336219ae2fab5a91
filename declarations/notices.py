"""What the declarant reads: each step in words and what to do next, and the one way
they are told of it (declarants_tell), which any app's step calls, as it calls
declarations.audit to record the step.

Targeting is confidential. Nothing here may name a score, a rule, a random
selection, a model or an officer's note: a trader who could read why a
declaration was selected would tune the next one to pass.
"""

from django.urls import reverse
from django.utils import timezone

from declarations.models import Declaration
from notifications.services import Message, notify_many, recipients_of_companies
from reference import lookups

Status = Declaration.Status

# What the declarant reads when their declaration enters a status, unless the
# step that moved it says more (an agency's question, a rejection's grounds).
STATUS_NOTICES = {
    Status.DRAFT: "Draft created.",
    Status.SUBMITTED: "Lodged. The risk assessment follows.",
    Status.UNDER_REVIEW: "Back under review by the agencies.",
    Status.QUERIED: "An agency has a question for you.",
    Status.ASSESSED: "Cleared by every agency: duties and taxes are due.",
    Status.PAID: "Payment received.",
    Status.RELEASED: "Goods released.",
    Status.ARRIVED: "Arrived at the office of destination.",
    Status.DISCHARGED: "Transit discharged; guarantee released.",
    Status.EXITED: "Exit confirmed by the office of exit.",
    Status.HELD: "Held by customs. You will be told how it proceeds.",
    Status.DETAINED: "Goods detained by customs after the inspection. Do not move them; "
    "customs will tell you how it proceeds.",
    Status.SEIZED: "Goods seized by customs. The seizure notice states the grounds and how "
    "to appeal.",
    Status.REJECTED: "Rejected.",
    Status.CANCELLED: "Cancelled.",
    Status.AMENDED: "Replaced by an amendment.",
}

# A lane, and what it asks of the declarant.
LANE_GUIDANCE = {
    "green": (
        "Green lane: customs clears the declaration without a check of the documents or the "
        "goods. Agencies that regulate the goods review them unless your permits cover them; "
        "you will be told when duties are due."
    ),
    "yellow": (
        "Yellow lane: customs will check the documents. Make sure the invoice, the packing "
        "list and the transport document are attached; you will be told if more is needed."
    ),
    "red": (
        "Red lane: customs will examine the goods. Keep them available at office {office} "
        "and be ready to present them with the transport document."
    ),
}

NEXT_STEPS = {
    Status.DRAFT: "Complete the draft and submit it.",
    Status.SUBMITTED: "Risk assessment in progress: the lane follows in a moment.",
    Status.QUERIED: "Answer the agencies' questions below; the review waits for you.",
    Status.ASSESSED: "Pay the duties and taxes due; the goods are released once payment "
    "is confirmed.",
    Status.PAID: "Payment received: release follows once every agency has approved.",
    Status.RELEASED: "The goods are released: nothing more is needed.",
    Status.ARRIVED: "The goods arrived: the office of destination discharges the movement "
    "once its checks are done, and the guarantee is released.",
    Status.DISCHARGED: "Discharged: the movement is over and the guarantee released.",
    Status.EXITED: "The office of exit confirmed the goods left: nothing more is needed.",
    Status.HELD: "Held by customs: you will be told how it proceeds.",
    Status.DETAINED: "Detained by customs: the goods stay where they are until customs "
    "decides; you will be told.",
    Status.SEIZED: "Seized: see the seizure notice for the grounds and how to appeal.",
    Status.REJECTED: "Rejected: see the history for the grounds. File a new declaration "
    "to declare the goods again.",
    Status.CANCELLED: "Cancelled: nothing more is needed.",
    Status.AMENDED: "Replaced by an amendment: follow the newer version.",
}


def lane_guidance(lane: str, *, office: str) -> str:
    return LANE_GUIDANCE[lane].format(office=office)


def office_label(code: str) -> str:
    """A customs office as the declarant reads it: its code and name."""
    name = lookups.office_names().get(code)
    return f"{code}, {name}" if name else code


def release_notice(declaration, *, nothing_due: bool = False) -> str:
    """What the declarant reads when the goods are released. An export is released for
    exit: it is not over until the office of exit sees the goods leave."""
    if declaration.type == Declaration.Type.EXPORT:
        cleared = "Cleared by every agency with nothing due. " if nothing_due else ""
        return (
            f"{cleared}Released for exit: present the goods at "
            f"{office_label(declaration.office_of_exit)}."
        )
    if nothing_due:
        return "Cleared by every agency with nothing due: goods released."
    return STATUS_NOTICES[Status.RELEASED]


def _transit_next_step(declaration) -> str:
    if declaration.status == Status.ASSESSED and not declaration.total_due:
        return (
            f"Cleared: present the goods and the means of transport at "
            f"{declaration.office_of_departure}, where customs releases them under seal."
        )
    if declaration.status == Status.RELEASED:
        deadline = timezone.localtime(declaration.transit_deadline)
        late = (
            " The time limit has passed: the guarantee stays engaged."
            if (declaration.is_overdue)
            else ""
        )
        return (
            f"Deliver the goods, seals unbroken, to {declaration.office_of_destination} by "
            f"{deadline:%Y-%m-%d %H:%M}.{late}"
        )
    return ""


def next_step(declaration) -> str:
    """What the declarant should do now, or expect."""
    if declaration.status == Status.UNDER_REVIEW and declaration.lane:
        return lane_guidance(declaration.lane, office=declaration.control_office)
    if declaration.status == Status.RELEASED and declaration.type == Declaration.Type.EXPORT:
        return (
            f"Present the goods at {office_label(declaration.office_of_exit)}, the office "
            "of exit: the export is complete when it confirms they left."
        )
    if declaration.is_transit:
        step = _transit_next_step(declaration)
        if step:
            return step
    return NEXT_STEPS.get(declaration.status, "")


def declarants_tell(*, notices: list[tuple[Declaration, str, str]], actor=None) -> None:
    """Tell the users of each declaration's company what others did to it:
    (declaration, text, verb) for each.

    Written in the transaction that made it happen: nobody reads of a step
    that was rolled back, and no step commits without its notifications. A
    company's own steps (lodging, amending, paying) are in its history; they
    are not notified back to it.
    """
    own = actor.company_id if actor is not None and actor.is_trader else None
    notices = [(d, text, verb) for d, text, verb in notices if text and d.company_id != own]
    if not notices:
        return
    recipients = recipients_of_companies({d.company_id for d, _, _ in notices})
    notify_many(
        messages=[
            Message(
                recipient_ids=recipients.get(d.company_id, []),
                verb=verb,
                text=f"{d.reference}: {text}",
                url=reverse("declarations:detail", args=[d.pk]),
            )
            for d, text, verb in notices
        ]
    )


def lodged_notice(declaration) -> str:
    """What the declarant reads on lodgement; a relief consignment also learns the
    measures it gets (public: the emergency's measures are, targeting is not)."""
    notice = STATUS_NOTICES[Status.SUBMITTED]
    emergency = declaration.emergency
    if emergency is None:
        return notice
    return (
        f"{notice} A relief consignment of {emergency.name}: " + "; ".join(emergency.measures) + "."
    )
