from django import forms
from django.contrib import admin

from leadline.core.conditions import validate
from leadline.scoring.models import RuleSetVersion, ScoringRule
from leadline.scoring.versions import snapshot


class ScoringRuleForm(forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = "__all__"

    def clean(self):
        data = super().clean()
        problems = validate(
            [{"field": data.get("field"), "op": data.get("op"), "value": data.get("value")}]
        )
        if problems:
            raise forms.ValidationError({"op": problems})
        return data


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    form = ScoringRuleForm
    list_display = ("label", "kind", "field", "op", "value", "points", "is_active")
    list_filter = ("kind", "is_active")
    list_editable = ("points", "is_active")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        snapshot(f"{'Changed' if change else 'Added'} “{obj.label}” ({request.user})")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        snapshot(f"Deleted “{obj.label}” ({request.user})")

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        snapshot(f"Deleted rules ({request.user})")


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "created_at", "note")
    readonly_fields = ("number", "rules", "created_at", "note")

    def has_add_permission(self, request):
        return False
