from django.contrib import admin

from leadline.scoring import ruleset
from leadline.scoring.models import MqlPolicy, RuleGroup, RuleSetVersion, ScoringRule
from leadline.scoring.versions import snapshot

# The rule editor (/scoring/rules/) is the place to edit rules; the admin checks the same things
# (the model's `clean`) and versions every change the same way.


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "group", "field", "op", "value", "points", "is_active")
    list_filter = ("kind", "group", "is_active")
    list_editable = ("points", "is_active")

    def save_model(self, request, obj, form, change):
        ruleset.save_rule({}, obj, request.user)

    def delete_model(self, request, obj):
        ruleset.delete_rule(obj, request.user)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        snapshot(f"Deleted rules ({request.user})")


@admin.register(RuleGroup)
class RuleGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "cap")

    def save_model(self, request, obj, form, change):
        ruleset.save_group({}, obj, request.user)

    def delete_model(self, request, obj):
        ruleset.delete_group(obj, request.user)


@admin.register(MqlPolicy)
class MqlPolicyAdmin(admin.ModelAdmin):
    list_display = ("team", "create_task", "task_title", "task_due_hours", "reroute")


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "created_at", "note")
    readonly_fields = ("number", "rules", "created_at", "note")

    def has_add_permission(self, request):
        return False
