"""Import KCS-format files as historical declarations the platform's model trains on."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Import KCS customs-declaration CSV files (the layout of data/kcs) as labelled "
        "training records; importing a file again adds nothing. Refreshes reference prices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        from risk.training import kcs_import, reference_prices_refresh

        created = kcs_import(paths=options["files"])
        prices = reference_prices_refresh()
        self.stdout.write(
            self.style.SUCCESS(f"{created} training records imported, {prices} reference prices.")
        )
