from django.core.management.base import BaseCommand

from declarations.anchors import audit_anchor_publish


class Command(BaseCommand):
    help = (
        "Publish an anchor now: the signed heads of every audit chain, into AUDIT_ANCHOR_DIR "
        "(beat does it daily)."
    )

    def handle(self, *args, **options):
        anchor = audit_anchor_publish()
        self.stdout.write(
            f"Anchor {anchor.digest} published at {anchor.published_at:%Y-%m-%d %H:%M:%S}."
        )
