from django import forms
from django.contrib import admin

from leadline.core.conditions import validate
from leadline.routing.models import Absence, RoutingRule, SlaPolicy, TimeRule


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


class SlaPolicyForm(RoutingRuleForm):
    class Meta:
        model = SlaPolicy
        fields = "__all__"


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = ("order", "name", "minutes", "business_hours", "is_active")
    list_display_links = ("name",)


class TimeRuleForm(RoutingRuleForm):
    class Meta:
        model = TimeRule
        fields = "__all__"


@admin.register(TimeRule)
class TimeRuleAdmin(admin.ModelAdmin):
    form = TimeRuleForm
    list_display = ("name", "trigger", "days", "business_days", "action", "is_active")


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ("user", "starts_at", "ends_at", "reason")
