from itertools import groupby

from django.core.management.base import BaseCommand, CommandError

from declarations.anchors import anchor_documents, anchor_verify, verify_key
from declarations.audit import chain_verify
from declarations.models import DeclarationEvent


class Command(BaseCommand):
    help = (
        "Verify every declaration's audit chain with the HMAC keys and every published "
        "anchor with the audit public key; name each broken entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--declaration", type=int, help="Verify one declaration only.")
        parser.add_argument(
            "--no-anchors", action="store_true", help="Check the chains only, not the anchors."
        )

    def handle(self, *args, declaration=None, no_anchors=False, **options):
        events = DeclarationEvent.objects.order_by("declaration_id", "seq")
        if declaration is not None:
            events = events.filter(declaration_id=declaration)
        problems = []
        checked = 0
        for _, chain in groupby(events.iterator(chunk_size=5000), key=lambda e: e.declaration_id):
            broken = chain_verify(chain)
            if broken:
                problems.append(
                    f"audit chain broken at event {broken.event_id} "
                    f"(declaration {broken.declaration_id}, entry #{broken.seq}): {broken.problem}"
                )
            checked += 1
        anchors = []
        if not no_anchors and declaration is None:
            anchors = anchor_documents()
            public_key = verify_key() if anchors else None
            for name, text in anchors:
                problems += [str(problem) for problem in anchor_verify(name, text, public_key)]
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"{checked} audit chains and {len(anchors)} anchors verified, none broken."
            )
        )
