"""Object-level grants and the queries that use them.

Grants go to company and agency groups through django-guardian's direct
foreign-key permission tables (one row per object and group), never to
single users: access follows membership, and the tables grow with objects,
not with users times objects.

Both helpers talk to those tables directly instead of through guardian's
shortcuts: a grant is one statement, and a scoped queryset is one EXISTS in
the caller's query instead of several round trips, which matters on every
page and API call.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Exists, Model, OuterRef, QuerySet, Subquery
from guardian.utils import get_group_obj_perms_model


def grant(*, group_id: int, obj: Model, perms: tuple[str, ...]) -> None:
    """Give the group these permissions ("app.codename") on the object; idempotent."""
    grant_many(grants=[(group_id, obj)], perms=perms)


def grant_many(*, grants: list[tuple[int, Model]], perms: tuple[str, ...]) -> None:
    """Give each (group id, object) pair these permissions; objects of one model.

    One INSERT ... SELECT for all of them, finding the permissions by model
    and codename: no round trip to read ids first, and no cached id (content
    type or permission) that could be stale.
    """
    if not grants:
        return
    model = get_group_obj_perms_model(grants[0][1])
    meta = grants[0][1]._meta
    codenames = [perm.split(".", 1)[1] for perm in perms]
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(model._meta.get_field(name).column)
        for name in ("group", "permission", "content_object")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            "SELECT g.group_id, p.id, g.object_id "
            "FROM unnest(%s::integer[], %s::bigint[]) AS g(group_id, object_id) "
            f"CROSS JOIN {quote(Permission._meta.db_table)} p "
            f"JOIN {quote(ContentType._meta.db_table)} t ON t.id = p.content_type_id "
            "WHERE t.app_label = %s AND t.model = %s AND p.codename = ANY(%s) "
            "ON CONFLICT DO NOTHING",
            [
                [group_id for group_id, _ in grants],
                [obj.pk for _, obj in grants],
                meta.app_label,
                meta.model_name,
                codenames,
            ],
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
