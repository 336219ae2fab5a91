from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.exceptions import InvalidTransition
from core.permissions import grant
from declarations.audit import GENESIS_HASH, event_hash
from declarations.models import Declaration, DeclarationEvent, Item

Status = Declaration.Status

# Every status a declaration may move to from each status. A move that is not
# here is refused, whoever asks.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.CANCELLED}),
    Status.SUBMITTED: frozenset({Status.UNDER_REVIEW, Status.HELD, Status.REJECTED}),
    Status.UNDER_REVIEW: frozenset(
        {Status.QUERIED, Status.ASSESSED, Status.HELD, Status.REJECTED, Status.CANCELLED}
    ),
    Status.QUERIED: frozenset({Status.UNDER_REVIEW, Status.REJECTED, Status.CANCELLED}),
    Status.ASSESSED: frozenset({Status.PAID, Status.HELD, Status.CANCELLED}),
    Status.PAID: frozenset({Status.RELEASED, Status.HELD}),
    Status.HELD: frozenset({Status.UNDER_REVIEW, Status.REJECTED}),
    Status.RELEASED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.CANCELLED: frozenset(),
}

DECLARATION_PERMS = ("declarations.view_declaration", "declarations.change_declaration")


def event_append(
    *,
    declaration: Declaration,
    actor,
    action: str,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict | None = None,
) -> DeclarationEvent:
    """Extend the declaration's audit chain. The caller holds the declaration's row lock."""
    last = declaration.events.order_by("-seq").values("seq", "hash").first()
    seq = last["seq"] + 1 if last else 1
    prev_hash = last["hash"] if last else GENESIS_HASH
    at = timezone.now()
    data = data or {}
    actor_id = actor.pk if actor is not None else None
    event = DeclarationEvent(
        declaration=declaration,
        seq=seq,
        at=at,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data,
        prev_hash=prev_hash,
        hash=event_hash(
            declaration_id=declaration.pk,
            seq=seq,
            at=at,
            actor_id=actor_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            data=data,
            prev_hash=prev_hash,
        ),
    )
    event.save(force_insert=True)
    return event


@transaction.atomic
def declaration_transition(
    *,
    declaration_id: int,
    to_status: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    changes: dict | None = None,
) -> Declaration:
    """The only way a declaration changes status.

    Locks the row so concurrent moves are serialised per declaration, checks
    the move against ALLOWED_TRANSITIONS, applies `changes` (other fields set
    by the same move) and records the move in the audit chain.
    """
    declaration = Declaration.objects.select_for_update().get(pk=declaration_id)
    from_status = declaration.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise InvalidTransition(
            f"A {declaration.get_status_display().lower()} declaration cannot become "
            f"{Status(to_status).label.lower()}.",
            extra={"status": from_status},
        )
    declaration.status = to_status
    for field, value in (changes or {}).items():
        setattr(declaration, field, value)
    declaration.full_clean()
    declaration.save()
    event_append(
        declaration=declaration,
        actor=actor,
        action="status",
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data,
    )
    return declaration


def _ensure_trader_of(actor, declaration: Declaration) -> None:
    if not (actor.is_trader and actor.company_id == declaration.company_id):
        raise PermissionDenied


def _validated_items(declaration: Declaration, items: list[dict]) -> list[Item]:
    if not items:
        raise ValidationError({"items": "A declaration needs at least one item."})
    built, errors = [], {}
    for index, fields in enumerate(items):
        item = Item(declaration=declaration, line_no=index + 1, **fields)
        try:
            item.full_clean(exclude=["declaration"], validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors[f"items[{index}].{field}"] = messages
        built.append(item)
    if errors:
        raise ValidationError(errors)
    return built


@transaction.atomic
def declaration_create(*, actor, header: dict, items: list[dict]) -> Declaration:
    """Create a draft for the actor's company. Nothing is stored if anything is invalid."""
    if not actor.is_trader:
        raise PermissionDenied
    declaration = Declaration(company_id=actor.company_id, created_by=actor, **header)
    errors = {}
    try:
        declaration.full_clean(exclude=["company", "created_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        built = _validated_items(declaration, items)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    declaration.save()
    for item in built:
        item.declaration = declaration
    Item.objects.bulk_create(built)
    grant(group=actor.company.group, obj=declaration, perms=DECLARATION_PERMS)
    event_append(declaration=declaration, actor=actor, action="created", to_status=Status.DRAFT)
    return declaration


@transaction.atomic
def declaration_submit(*, declaration: Declaration, actor) -> Declaration:
    """Lodge a draft. Risk scoring is queued once the submission is committed.

    If the broker is unreachable the submission still stands: the risk sweeper
    finds submitted declarations without a lane and queues them again.
    """
    _ensure_trader_of(actor, declaration)
    declaration = declaration_transition(
        declaration_id=declaration.pk,
        to_status=Status.SUBMITTED,
        actor=actor,
        changes={"submitted_at": timezone.now()},
    )
    from risk.tasks import score_declaration

    transaction.on_commit(lambda: score_declaration.delay(declaration.pk), robust=True)
    return declaration
