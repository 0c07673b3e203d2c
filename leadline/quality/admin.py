"""Match thresholds and survivorship rules per team; the match model versions (read only)."""

from django.contrib import admin

from leadline.core.clock import clock
from leadline.quality.models import MatchModelVersion, MatchSettings


@admin.register(MatchSettings)
class MatchSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "review_threshold", "auto_merge_threshold", "updated_at")
    fields = ("team", "review_threshold", "auto_merge_threshold", "survivorship")

    def save_model(self, request, obj, form, change):
        # Capture-time matching reloads thresholds when this changes, in every process.
        obj.updated_at = clock.now()
        super().save_model(request, obj, form, change)


@admin.register(MatchModelVersion)
class MatchModelVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "leads", "decisions", "is_active", "created_at")
    fields = ("leads", "decisions", "is_active", "created_at")
    readonly_fields = ("leads", "decisions", "created_at")

    def has_add_permission(self, request):
        return False  # made by `leadline dedupe --db`
