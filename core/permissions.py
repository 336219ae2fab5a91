"""Object-level grants and the queries that use them.

Grants go to company and agency groups through django-guardian's direct
foreign-key permission tables (one row per object and group), never to
single users: access follows membership, and the tables grow with objects,
not with users times objects.
"""

from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from guardian.shortcuts import assign_perm, get_objects_for_user


def grant(*, group: Group, obj: Model, perms: tuple[str, ...]) -> None:
    for perm in perms:
        assign_perm(perm, group, obj)


def objects_granted(*, user, perm: str, queryset: QuerySet) -> QuerySet:
    return get_objects_for_user(
        user,
        perm,
        klass=queryset,
        use_groups=True,
        with_superuser=False,
        accept_global_perms=False,
    )
