from django.contrib import admin

from reference.models import Agreement, ExchangeRate, HsCode, Office, TariffRate, Unit, VatRate


@admin.register(HsCode)
class HsCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "level", "description"]
    list_filter = ["level"]
    search_fields = ["code", "description"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "kind", "active"]
    list_filter = ["kind", "active"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "rate", "valid_from"]
    list_filter = ["currency"]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(TariffRate)
class TariffRateAdmin(admin.ModelAdmin):
    list_display = ["hs_prefix", "agreement", "rate"]
    list_filter = ["agreement"]
    search_fields = ["hs_prefix"]


@admin.register(VatRate)
class VatRateAdmin(admin.ModelAdmin):
    list_display = ["rate", "valid_from"]
