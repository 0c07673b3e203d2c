from django import forms
from django.contrib import admin

from leadline.core.conditions import validate
from leadline.scoring.models import ScoringRule


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
