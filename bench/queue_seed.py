"""Seed a database with many declarations, their items, reviews and grants, fast.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sw_bench \\
        .venv/bin/python bench/queue_seed.py --declarations 1000000

Creates the database when missing, migrates it, loads the reference data and
the demo cast (seed_demo), then streams rows with COPY (psycopg2 copy_expert) in chunks:
declarations, items, one customs review each plus an agency review when an
item is regulated, the review slices, and the django-guardian rows (company
group on each declaration, agency group on each review). Most declarations
are history (released, reviews approved); --active of them still wait in the
queues, with lanes 70% green, 20% yellow, 10% red.

Values for columns this script does not know come from the model field's
default (or NULL / empty), so it keeps working as the declaration grows.
"""

import argparse
import io
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "singlewindow.settings")
os.environ.setdefault("DEBUG", "true")

CHUNK = 20_000
HS_PLAIN = ["851713", "847130", "640399", "940161", "870323", "392690", "611030", "950300"]
HS_REGULATED = {  # hs_code -> agency code (demo jurisdiction)
    "020130": "food",
    "030617": "food",
    "220421": "food",
    "080510": "plant",
    "070200": "plant",
    "850440": "standards",
    "850760": "standards",
}
ORIGINS = ["CN", "VN", "US", "DE", "JP", "TH", "IN", "BR"]


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.started = label, total, 0, time.monotonic()

    def advance(self, n: int) -> None:
        self.done += n
        fraction = self.done / self.total if self.total else 1
        bar = "#" * int(fraction * 30)
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        sys.stderr.write(
            f"\r{self.label:<28} [{bar:<30}] {self.done:>10,}/{self.total:,} {rate:>9,.0f}/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write(f"  {time.monotonic() - self.started:.1f}s\n")


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def column_defaults(model) -> dict[str, object]:
    """A value for every concrete column: the field default, else NULL or ''.

    JSON and array defaults are written in their COPY text form here, where the
    field type is known.
    """
    import json

    from django.contrib.postgres.fields import ArrayField
    from django.db.models import NOT_PROVIDED, JSONField

    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.default is not NOT_PROVIDED:
            default = field.default() if callable(field.default) else field.default
            default = getattr(default, "value", default)
            if isinstance(field, JSONField):
                default = json.dumps(default)
            elif isinstance(field, ArrayField):
                default = "{" + ",".join(f'"{v}"' for v in default) + "}"
            values[field.column] = default
        elif field.null:
            values[field.column] = None
        else:
            values[field.column] = ""
    return values


class Copier:
    def __init__(self, connection, table: str, columns: list[str]):
        self.connection, self.table, self.columns = connection, table, columns
        self.buffer, self.rows = io.StringIO(), 0

    def add(self, row: dict) -> None:
        self.buffer.write("\t".join(copy_value(row[c]) for c in self.columns))
        self.buffer.write("\n")
        self.rows += 1

    def flush(self) -> int:
        if not self.rows:
            return 0
        self.buffer.seek(0)
        with self.connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN", self.buffer
            )
        flushed, self.buffer, self.rows = self.rows, io.StringIO(), 0
        return flushed


def next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--active", type=float, default=0.05, help="share still under review")
    parser.add_argument("--companies", type=int, default=500)
    parser.add_argument("--days", type=int, default=365, help="spread over this many days")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL")
    if not url or urlsplit(url).path.strip("/") in ("", "singlewindow"):
        sys.exit("Set DATABASE_URL to a dedicated database, e.g. .../sw_bench")
    ensure_database(url)

    import django

    django.setup()
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Company
    from agencies.models import (
        LANE_RANK,
        Agency,
        Review,
        ReviewGroupObjectPermission,
        hs_prefixes_of,
    )
    from declarations.models import Declaration, DeclarationGroupObjectPermission, Item

    print("migrating and loading the reference data and the demo cast ...", flush=True)
    call_command("migrate", verbosity=0)
    # The demo cast is posted at its customs offices, which the reference data holds.
    from reference.models import Office

    if not Office.objects.exists():
        call_command("load_reference_data", verbosity=0)
    call_command("seed_demo", verbosity=0)

    rng = random.Random(args.seed)
    agencies = {a.code: a for a in Agency.objects.all()}
    customs = next(a for a in agencies.values() if a.is_customs)
    perms = {
        p.codename: p.pk
        for p in Permission.objects.filter(
            codename__in=["view_review", "change_review", "view_declaration", "change_declaration"]
        )
    }
    creator_of = {}

    with transaction.atomic():
        cursor = connection.cursor()
        raw = connection.connection

        # Companies, each with its group and one trader.
        existing = Company.objects.count()
        group_id, company_id = next_id(cursor, "auth_group"), next_id(cursor, "accounts_company")
        groups = Copier(raw, "auth_group", ["id", "name"])
        companies = Copier(
            raw,
            "accounts_company",
            ["id", "name", "tax_id", "country", "aeo_status", "group_id", "created_at"],
        )
        now = datetime.now(UTC)
        for n in range(max(args.companies - existing, 0)):
            groups.add({"id": group_id + n, "name": f"company:BENCH{n:08d}"})
            companies.add(
                {
                    "id": company_id + n,
                    "name": f"Bench Trading {n:05d}",
                    "tax_id": f"BENCH{n:08d}",
                    "country": "KR",
                    "aeo_status": "none",
                    "group_id": group_id + n,
                    "created_at": now,
                }
            )
        groups.flush()
        companies.flush()
        from accounts.models import User

        company_groups = dict(Company.objects.values_list("pk", "group_id"))
        trader_of = dict(
            User.objects.filter(role="trader").values_list("company_id", "pk").order_by("pk")
        )
        fallback_trader = next(iter(trader_of.values()))
        for pk in company_groups:
            creator_of[pk] = trader_of.get(pk, fallback_trader)
        company_ids = list(company_groups)

        defaults = column_defaults(Declaration)
        declaration_columns = ["id", *defaults]
        item_defaults = column_defaults(Item)
        item_columns = ["id", *item_defaults]
        review_defaults = column_defaults(Review)
        review_columns = ["id", *review_defaults]

        declarations = Copier(raw, "declarations_declaration", declaration_columns)
        items = Copier(raw, "declarations_item", item_columns)
        reviews = Copier(raw, "agencies_review", review_columns)
        slices = Copier(raw, "agencies_review_items", ["review_id", "item_id"])
        review_grants = Copier(
            raw,
            ReviewGroupObjectPermission._meta.db_table,
            ["group_id", "permission_id", "content_object_id"],
        )
        declaration_grants = Copier(
            raw,
            DeclarationGroupObjectPermission._meta.db_table,
            ["group_id", "permission_id", "content_object_id"],
        )
        declaration_id = next_id(cursor, "declarations_declaration")
        item_id = next_id(cursor, "declarations_item")
        review_id = next_id(cursor, "agencies_review")
        officer = User.objects.filter(agency=customs).values_list("pk", flat=True).first()
        decider_of = {
            code: User.objects.filter(agency=agency).values_list("pk", flat=True).first() or officer
            for code, agency in agencies.items()
        }

        progress = Progress("declarations (+ all rows)", args.declarations)
        start = now - timedelta(days=args.days)
        for n in range(args.declarations):
            pk = declaration_id + n
            company = rng.choice(company_ids)
            created = start + timedelta(seconds=rng.randrange(args.days * 86400))
            lane = rng.choices(["green", "yellow", "red"], weights=[70, 20, 10])[0]
            active = rng.random() < args.active
            status = (
                rng.choice(["under_review", "under_review", "queried"]) if active else "released"
            )
            line_codes = [
                rng.choice(HS_PLAIN) if rng.random() < 0.6 else rng.choice(list(HS_REGULATED))
                for _ in range(rng.choice([1, 1, 2, 3]))
            ]
            total = Decimal(0)
            item_rows = []
            for line, code in enumerate(line_codes, start=1):
                value = Decimal(rng.randrange(100, 50_000))
                total += value
                item_rows.append(
                    {
                        **item_defaults,
                        "id": item_id,
                        "declaration_id": pk,
                        "line_no": line,
                        "hs_code": code,
                        "description": f"Goods {code}",
                        "origin_country": rng.choice(ORIGINS),
                        "quantity": rng.randrange(1, 1000),
                        "unit": "NAR",
                        "net_mass_kg": Decimal(rng.randrange(1, 5000)),
                        "value": value,
                    }
                )
                item_id += 1
            declarations.add(
                {
                    **defaults,
                    "id": pk,
                    "company_id": company,
                    "created_by_id": creator_of[company],
                    "country_of_export": "CN",
                    "country_of_destination": "KR",
                    "office_of_entry": "KRPUS",
                    "transport_mode": "1",
                    "transport_document": f"BL{pk:010d}",
                    "invoice_number": f"B-{pk}",
                    "currency": "USD",
                    "invoice_total": total,
                    "status": status,
                    "lane": lane,
                    "created_at": created,
                    "updated_at": created,
                    "submitted_at": created,
                }
            )
            for row in item_rows:
                items.add(row)
            for perm in ("view_declaration", "change_declaration"):
                declaration_grants.add(
                    {
                        "group_id": company_groups[company],
                        "permission_id": perms[perm],
                        "content_object_id": pk,
                    }
                )
            code_of = {row["id"]: row["hs_code"] for row in item_rows}
            slices_by_agency = {customs.code: [row["id"] for row in item_rows]}
            for row in item_rows:
                code = HS_REGULATED.get(row["hs_code"])
                if code and code in agencies:
                    slices_by_agency.setdefault(code, []).append(row["id"])
            opened = created + timedelta(minutes=rng.randrange(1, 30))
            for code, slice_ids in slices_by_agency.items():
                if active:
                    review_status = rng.choice(["open", "open", "in_progress", "queried"])
                    decided_at, decided_by = None, None
                else:
                    review_status = "approved"
                    decided_at = opened + timedelta(hours=rng.randrange(1, 48))
                    decided_by = decider_of[code]
                reviews.add(
                    {
                        **review_defaults,
                        "id": review_id,
                        "declaration_id": pk,
                        "agency_id": agencies[code].pk,
                        "status": review_status,
                        "opened_at": opened,
                        "decided_at": decided_at,
                        "decided_by_id": decided_by,
                        "lane_rank": LANE_RANK[lane],
                        "company_id": company,
                        # The declaration's control office (its office of entry).
                        "office": "KRPUS",
                        "hs_prefixes": "{"
                        + ",".join(hs_prefixes_of(code_of[i] for i in slice_ids))
                        + "}",
                    }
                )
                for slice_id in slice_ids:
                    slices.add({"review_id": review_id, "item_id": slice_id})
                for perm in ("view_review", "change_review"):
                    review_grants.add(
                        {
                            "group_id": agencies[code].group_id,
                            "permission_id": perms[perm],
                            "content_object_id": review_id,
                        }
                    )
                review_id += 1
            if declarations.rows >= CHUNK:
                # Parents before children, so every foreign key holds at each COPY.
                flushed = declarations.flush()
                for copier in (items, reviews, slices, review_grants, declaration_grants):
                    copier.flush()
                progress.advance(flushed)
        flushed = declarations.flush()
        for copier in (items, reviews, slices, review_grants, declaration_grants):
            copier.flush()
        progress.advance(flushed)
        progress.close()

        for table in (
            "auth_group",
            "accounts_company",
            "declarations_declaration",
            "declarations_item",
            "agencies_review",
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    print("analyzing ...", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # sets the visibility map: index-only counts
        for table in ("declarations_declaration", "agencies_review", "declarations_item"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            print(f"{table}: {cursor.fetchone()[0]:,} rows")
        cursor.execute(f"SELECT COUNT(*) FROM {ReviewGroupObjectPermission._meta.db_table}")
        print(f"review grants: {cursor.fetchone()[0]:,} rows")


if __name__ == "__main__":
    main()
