from django import forms
from django.contrib import admin

from leadline.core.conditions import validate
from leadline.routing.models import RoutingRule


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = "__all__"

    def clean_conditions(self):
        problems = validate(self.cleaned_data["conditions"])
        if problems:
            raise forms.ValidationError(problems)
        return self.cleaned_data["conditions"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("order", "name", "team", "owner", "is_active")
    list_display_links = ("name",)
    list_editable = ("order", "is_active")
