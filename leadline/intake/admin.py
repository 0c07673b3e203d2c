"""Settings for intake: which engagement events create leads, saved import mappings."""

from django.contrib import admin

from leadline.intake.models import EventType, ImportMapping


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    list_display = ("kind", "label", "creates_lead", "lead_source", "is_active")
    list_editable = ("creates_lead", "lead_source", "is_active")


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "source", "updated_at")
    readonly_fields = ("created_by", "created_at", "updated_at")
