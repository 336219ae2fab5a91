"""Object-level grants and the queries that use them.

Grants go to company and agency groups through django-guardian's direct
foreign-key permission tables (one row per object and group), never to
single users: access follows membership, and the tables grow with objects,
not with users times objects.

Both helpers talk to those tables directly instead of through guardian's
shortcuts: a grant is two queries instead of three per permission, and a
scoped queryset is one EXISTS in the caller's query instead of several
round trips, which matters on every page and API call.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, Model, OuterRef, QuerySet, Subquery
from guardian.utils import get_group_obj_perms_model


def grant(*, group: Group, obj: Model, perms: tuple[str, ...]) -> None:
    """Give the group these permissions ("app.codename") on the object; idempotent."""
    model = get_group_obj_perms_model(obj)
    content_type = ContentType.objects.get_for_model(obj)
    codenames = [perm.split(".", 1)[1] for perm in perms]
    permissions = Permission.objects.filter(content_type=content_type, codename__in=codenames)
    model.objects.bulk_create(
        [model(group=group, permission=p, content_object=obj) for p in permissions],
        ignore_conflicts=True,
    )


def user_group_ids(user) -> list[int]:
    """The user's groups, read once per user object (that is, once per request)."""
    if not hasattr(user, "_group_ids"):
        user._group_ids = list(user.groups.values_list("id", flat=True))
    return user._group_ids


def objects_granted(*, user, perm: str, queryset: QuerySet) -> QuerySet:
    """The objects of the queryset on which one of the user's groups holds `perm`.

    Group ids are constants and the permission an InitPlan, so PostgreSQL
    checks each candidate row with one probe of the (group, permission,
    object) unique index and can walk the caller's ordering index to a LIMIT.
    """
    app_label, codename = perm.split(".", 1)
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).values("id")[:1]
    grants = get_group_obj_perms_model(queryset.model).objects.filter(
        group_id__in=user_group_ids(user),
        permission_id=Subquery(permission),
        content_object=OuterRef("pk"),
    )
    return queryset.filter(Exists(grants))
