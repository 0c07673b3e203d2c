"""Workspace settings for admins: teams, calendars, SLAs, members, reason codes, campaigns."""

from django import forms
from django.contrib import admin

from leadline.core.models import (
    ApiToken,
    AutoResponse,
    Campaign,
    Job,
    Membership,
    ReasonCode,
    Team,
    Webhook,
)

admin.site.site_header = "Leadline settings"
admin.site.site_title = "Leadline settings"
admin.site.index_title = "Workspace settings"
admin.site.site_url = "/"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "is_active", "weight", "assigned_count")
    readonly_fields = ("assigned_count",)


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        exclude = ("rr_counter",)

    def clean_timezone(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        value = self.cleaned_data["timezone"]
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError("unknown time zone (use e.g. Europe/London)") from None
        return value

    def clean_work_days(self):
        days = self.cleaned_data["work_days"]
        if not isinstance(days, list) or any(d not in range(7) for d in days):
            raise forms.ValidationError("a list of weekday numbers, Monday = 0")
        return days


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "timezone", "sla_minutes", "mql_threshold", "is_default")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "recycle_days", "is_active")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "cost", "currency", "starts_on", "ends_on")
    search_fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # tokens are issued from the UI or CLI so the secret is shown once


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("kind", "lead_id", "status", "run_at", "attempts", "last_error")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "is_active")


@admin.register(AutoResponse)
class AutoResponseAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "subject", "is_active")
