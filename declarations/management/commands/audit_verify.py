from itertools import groupby

from django.core.management.base import BaseCommand, CommandError

from declarations.audit import chain_verify
from declarations.models import DeclarationEvent


class Command(BaseCommand):
    help = "Verify every declaration's hash-chained audit trail; name the first broken entry."

    def add_arguments(self, parser):
        parser.add_argument("--declaration", type=int, help="Verify one declaration only.")

    def handle(self, *args, declaration=None, **options):
        events = DeclarationEvent.objects.order_by("declaration_id", "seq")
        if declaration is not None:
            events = events.filter(declaration_id=declaration)
        checked = 0
        for _, chain in groupby(events.iterator(chunk_size=5000), key=lambda e: e.declaration_id):
            broken = chain_verify(chain)
            if broken:
                raise CommandError(
                    f"audit chain broken at event {broken.event_id} "
                    f"(declaration {broken.declaration_id}, entry #{broken.seq}): {broken.problem}"
                )
            checked += 1
        self.stdout.write(self.style.SUCCESS(f"{checked} audit chains verified, none broken."))
