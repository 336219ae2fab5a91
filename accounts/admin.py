from copy import copy
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.contrib.auth.models import Group
from django.shortcuts import redirect
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.forms import SecurityPolicyForm
from accounts.models import ApiToken, Company, SecurityPolicy, SecurityPolicyChange, User
from accounts.services import (
    COMPANY_CHANGEABLE,
    USER_CHANGEABLE,
    api_token_revoke,
    company_create,
    company_update,
    second_factor_reset,
    security_policy_update,
    user_create,
    user_login_unlock,
    user_password_set,
    user_update,
)
from core.admin import ReadOnlyAdmin, ServiceAdmin
from reference.models import Office


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's password page, saving through the service (which ends the
    user's API tokens)."""

    def __init__(self, user, *args, actor, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.actor = actor

    def save(self, commit=True):
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        return user_password_set(user=self.user, password=password, actor=self.actor)


class OfficesChosenForm:
    """Hands the offices picked to the user being cleaned: the model's clean() checks
    them (User.offices_chosen) and shows its refusal next to the field."""

    def clean(self):
        cleaned_data = super().clean()
        if "offices" in self.fields:
            self.instance.offices_chosen = list(cleaned_data.get("offices") or [])
        return cleaned_data


class UserAddForm(OfficesChosenForm, UserCreationForm):
    pass


class UserChangeForm(OfficesChosenForm, DjangoUserChangeForm):
    pass


@admin.register(User)
class SingleWindowUserAdmin(ServiceAdmin, UserAdmin):
    """Users are created and changed through the services, which keep group membership
    and admin access in step with the role, company and agency, and post officers at
    their offices. Passwords are changed on Django's own password page, saved by the
    service."""

    add_form = UserAddForm
    form = UserChangeForm
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "password1",
                    "password2",
                    "role",
                    "company",
                    "agency",
                    "offices",
                    "first_name",
                    "last_name",
                    "email",
                ],
            },
        ),
    ]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (
            "Single Window",
            {
                "fields": ["role", "company", "agency", "offices"],
                "description": "Traders belong to a company; officers, supervisors, analysts "
                "and cashiers to an agency (cashiers to customs). An officer works at one "
                "customs office, a supervisor oversees one or more; an officer sees the "
                "queue of their office only.",
            },
        ),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        (
            "Access",
            {
                "fields": ["is_active", "is_staff", "is_superuser", "groups"],
                "description": "Staff and superuser status follow the role (administrator); "
                "groups follow the company or agency.",
            },
        ),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    list_display = [
        "username", "get_full_name", "role", "company", "agency", "posted_at", "is_active",
    ]  # fmt: skip
    list_filter = ["role", "agency", "offices", "is_active"]
    list_select_related = ["company", "agency"]
    actions = ["unlock_login", "revoke_api_tokens", "reset_second_factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("offices")

    @admin.display(description="offices")
    def posted_at(self, user) -> str:
        return ", ".join(office.code for office in user.offices.all()) or "—"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "offices":
            # A handful of offices: boxes to tick, active ones only.
            kwargs["queryset"] = Office.objects.filter(active=True)
            kwargs["widget"] = forms.CheckboxSelectMultiple
            kwargs["help_text"] = (
                "Officers: exactly one. Supervisors: one or more. Cashiers: one at most. "
                "Traders and administrators: none."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def user_change_password(self, request, id, form_url=""):
        # The form needs the administrator for the service; a copy of this shared
        # admin carries it for this request only.
        this_request = copy(self)
        this_request.change_password_form = partial(ServicePasswordChangeForm, actor=request.user)
        return UserAdmin.user_change_password(this_request, request, id, form_url)

    @admin.action(description="Unlock the login (after too many failed attempts)")
    def unlock_login(self, request, queryset):
        for user in queryset:
            user_login_unlock(user=user, actor=request.user)
        count = len(queryset)
        self.message_user(
            request,
            f"Unlocked the login of {count} user{'s' if count != 1 else ''}.",
            messages.SUCCESS,
        )

    @admin.action(description="Revoke every API token")
    def revoke_api_tokens(self, request, queryset):
        tokens = ApiToken.objects.filter(user__in=queryset).select_related("user")
        for token in tokens:
            api_token_revoke(token=token, actor=request.user)
        self.message_user(request, f"Revoked {len(tokens)} API tokens.", messages.SUCCESS)

    @admin.action(description="Reset the second factor (lost phone and recovery codes)")
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            second_factor_reset(user=user, actor=request.user)
            self.log_change(request, user, "Second factor reset.")
        messages.success(request, f"Second factor reset for {len(queryset)} user(s).")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["username", "is_staff", "is_superuser", "groups", "last_login", "date_joined"]

    def has_delete_permission(self, request, obj=None):
        # Users are deactivated (is_active), not deleted: their actions stay attributed.
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in USER_CHANGEABLE if name in form.fields}
        if change:
            user = user_update(user=obj, actor=request.user, **data)
        else:
            user = user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                actor=request.user,
                **data,
            )
        self.adopt(obj, user)


@admin.register(Company)
class CompanyAdmin(ServiceAdmin):
    list_display = ["name", "tax_id", "country", "aeo_status"]
    search_fields = ["name", "tax_id"]
    list_filter = ["aeo_status"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "tax_id", "country", "aeo_status"]
        return ["name", "tax_id", "country", "aeo_status", "group"]

    def get_readonly_fields(self, request, obj=None):
        # The company's group is named after its tax id.
        return [] if obj is None else ["tax_id", "group"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in COMPANY_CHANGEABLE}
        if change:
            company = company_update(company=obj, actor=request.user, **data)
        else:
            company = company_create(tax_id=form.cleaned_data["tax_id"], actor=request.user, **data)
        self.adopt(obj, company)


# Company and agency groups are made and filled by the services above.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    search_fields = ["name"]
    ordering = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are issued by logging in to the API; administrators see and revoke them
    (the key itself is never stored)."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "prefix", "name"]
    fields = ["user", "prefix", "name", "created_at", "expires_at"]

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj):
        api_token_revoke(token=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, actor=request.user)


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(ServiceAdmin):
    """The one policy row, changed through the service, which keeps who changed it."""

    form = SecurityPolicyForm
    fields = ["second_factor_roles", "reason", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row (made by migration 0006): the list is that row's page.
        return redirect("admin:accounts_securitypolicy_change", 1)

    def save_model(self, request, obj, form, change):
        policy = security_policy_update(
            second_factor_roles=form.cleaned_data["second_factor_roles"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
        self.adopt(obj, policy)


@admin.register(SecurityPolicyChange)
class SecurityPolicyChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "changed_by", "before", "after", "reason"]
    list_select_related = ["changed_by"]


# Devices and their secrets are made by their owners on the Second factor page; an
# administrator only resets them (the users' action above).
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
