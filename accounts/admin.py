from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Company, User


@admin.register(User)
class SingleWindowUserAdmin(UserAdmin):
    list_display = ["username", "get_full_name", "role", "company", "agency", "is_active"]
    list_filter = ["role", "agency", "is_active"]
    fieldsets = [*UserAdmin.fieldsets, ("Single Window", {"fields": ["role", "company", "agency"]})]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_id", "country", "aeo_status"]
    search_fields = ["name", "tax_id"]
    list_filter = ["aeo_status"]
    readonly_fields = ["group"]
