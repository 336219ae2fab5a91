from django.contrib import admin

from core.admin import ReadOnlyAdmin
from guarantees.models import Guarantee, GuaranteeDraw, GuaranteeProposal


@admin.register(Guarantee)
class GuaranteeAdmin(ReadOnlyAdmin):
    """Guarantees are accepted and drawn through their services only (four eyes)."""

    list_display = ["reference", "company", "status", "amount", "balance", "valid_until"]
    list_filter = ["status"]
    list_select_related = ["company"]
    search_fields = ["reference", "company__name", "company__tax_id"]


@admin.register(GuaranteeProposal)
class GuaranteeProposalAdmin(ReadOnlyAdmin):
    list_display = ["guarantee", "kind", "amount", "status", "proposed_by", "decided_by"]
    list_filter = ["status", "kind"]


@admin.register(GuaranteeDraw)
class GuaranteeDrawAdmin(ReadOnlyAdmin):
    list_display = ["guarantee", "declaration", "amount", "status", "drawn_at", "released_at"]
    list_filter = ["status"]
    raw_id_fields = ["declaration"]
