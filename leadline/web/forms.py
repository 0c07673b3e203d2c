from django import forms

from leadline.core.choices import TRANSITIONS, ActivityKind, Source, Stage, Status
from leadline.core.models import ReasonCode


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    subject = forms.CharField(max_length=200, required=False)
    outcome = forms.CharField(max_length=60, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class NextStepForm(forms.Form):
    title = forms.CharField(max_length=200, label="Next step")
    due_at = forms.DateTimeField(widget=DateTimeInput, label="Due")


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices, label="Move to")
    reason = forms.CharField(max_length=500, required=False)
    reason_code = forms.ChoiceField(required=False, label="Reason code")
    next_step = forms.CharField(max_length=200, required=False)
    next_step_due_at = forms.DateTimeField(widget=DateTimeInput, required=False, label="Due")

    def __init__(self, *args, lead=None, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        allowed = TRANSITIONS.get(lead.status, ()) if lead else Status.values
        self.fields["to"].choices = [(s, Status(s).label) for s in allowed]
        codes = ReasonCode.objects.filter(is_active=True)
        self.fields["reason_code"].choices = [("", "—")] + [(c.code, c.label) for c in codes]
        self.criteria = list(criteria)
        answers = (lead.qualification if lead else {}) or {}
        for item in self.criteria:
            name = f"q_{item['key']}"
            if item.get("type") == "number":
                field = forms.DecimalField(required=False, label=item["label"])
            elif item.get("type") == "text":
                field = forms.CharField(required=False, label=item["label"])
            else:
                field = forms.BooleanField(required=False, label=item["label"])
            field.initial = answers.get(item["key"])
            self.fields[name] = field

    def answers(self) -> dict:
        out = {}
        for item in self.criteria:
            value = self.cleaned_data.get(f"q_{item['key']}")
            out[item["key"]] = float(value) if item.get("type") == "number" and value else value
        return out

    def criteria_fields(self):
        return [self[f"q_{item['key']}"] for item in self.criteria]


class ConvertForm(forms.Form):
    opportunity_name = forms.CharField(max_length=200, required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    problem = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Problem to solve")
    outcome = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Desired outcome"
    )
    decision_makers = forms.CharField(max_length=300, required=False)


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(choices=[("", "Any status")] + Status.choices, required=False)
    stage = forms.ChoiceField(choices=[("", "Any stage")] + Stage.choices, required=False)
    source = forms.ChoiceField(choices=[("", "Any source")] + Source.choices, required=False)
    owner = forms.CharField(required=False, label="Owner (username, me, none)")
    score_min = forms.IntegerField(required=False, label="Min score")


class LeadCreateForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(max_length=254, required=False)
    phone = forms.CharField(max_length=40, required=False)
    title = forms.CharField(max_length=150, required=False)
    company = forms.CharField(max_length=200, required=False)
    website = forms.CharField(max_length=300, required=False)
    country = forms.CharField(max_length=60, required=False)
    employees = forms.IntegerField(required=False, min_value=0)
    source = forms.ChoiceField(choices=Source.choices, initial=Source.INBOUND_CALL)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", initial="My script")


class AssignForm(forms.Form):
    owner = forms.TypedChoiceField(coerce=int, label="New owner")
    reason = forms.CharField(max_length=300)

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        from leadline.core.models import Membership

        members = Membership.objects.filter(team=team, user__is_active=True).select_related("user")
        self.fields["owner"].choices = [
            (m.user_id, f"{m.user.get_username()} ({m.role})") for m in members
        ]
