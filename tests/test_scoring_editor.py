"""The scoring rule editor (/scoring/rules/): who may use it, errors by field, the preview of how
many open leads a change moves across the MQL line, and saving as a version that re-scores."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leadline.core.models import Job, Membership
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.scoring.models import MqlPolicy, RuleGroup, RuleSetVersion, ScoringRule

INSURER = {"email": "dana@acme-corp.com", "industry": "Insurance"}  # 20 points
NEW_RULE = {
    "kind": "fit",
    "group": "",
    "label": "Big order volume",
    "field": "custom.order_volume",
    "op": "gte",
    "value": "500",
    "points": "30",
    "order": "100",
    "is_active": "on",
}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csrf_token(html: bytes) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1).decode()


@pytest.fixture
def manager(workspace):
    return login(workspace.manager)


def test_the_list_shows_rules_by_kind_and_group(workspace, manager):
    group = RuleGroup.objects.create(name="Web engagement", kind="engagement", cap=30)
    ScoringRule.objects.filter(label="Visited 3+ pages").update(group=group)
    page = manager.get("/scoring/rules/").content.decode()
    assert "Fit rules" in page and "Engagement rules" in page
    assert "Web engagement" in page and "at most 30 points together" in page
    assert page.index("Web engagement") < page.index("Visited 3+ pages")
    assert "Target industry" in page and "is one of" in page
    assert "Scoring rules</a>" in page  # the navigation link


def test_a_rep_cannot_see_or_change_the_rules(workspace):
    rep = login(workspace.owner)
    rule = ScoringRule.objects.get(label="Target industry")
    assert rep.get("/scoring/rules/").status_code == 403
    assert rep.post("/scoring/rules/new/", NEW_RULE).status_code == 403
    assert rep.post(f"/scoring/rules/{rule.pk}/toggle/").status_code == 403
    assert rep.post(f"/scoring/rules/{rule.pk}/delete/").status_code == 403
    assert rep.get(f"/scoring/teams/{workspace.americas.pk}/mql/").status_code == 403
    assert "Scoring rules</a>" not in rep.get("/").content.decode()
    assert ScoringRule.objects.get(pk=rule.pk).is_active
    assert not RuleSetVersion.objects.exists()


def test_it_needs_a_login(workspace):
    response = Client().get("/scoring/rules/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_unknown_rule_is_404(workspace, manager):
    assert manager.get("/scoring/rules/999999/").status_code == 404


def test_a_marketer_may_edit_the_rules(workspace):
    marketer = get_user_model().objects.create_user("mo", "mo@example.com", "correct-horse-1")
    Membership.objects.create(user=marketer, team=workspace.americas, role="marketer")
    response = login(marketer).post("/scoring/rules/new/", NEW_RULE)
    assert response.status_code == 302
    assert ScoringRule.objects.filter(label="Big order volume").exists()


def test_mistakes_are_shown_next_to_their_field_and_nothing_is_saved(workspace, manager):
    bad = {**NEW_RULE, "field": "industy", "op": "between", "value": "big", "points": "0"}
    response = manager.post("/scoring/rules/new/", bad)
    assert response.status_code == 422
    page = response.content.decode()
    errors = dict(
        re.findall(
            r'<label class="field has-error">(\w[\w ]*?) <.*?class="error">(.*?)<', page, re.S
        )
    )
    assert "unknown field &#x27;industy&#x27;" in errors["Field"]
    assert errors["Value"] == "two numbers are needed: low, high"
    assert errors["Points"] == "give points: positive to add, negative to subtract"
    assert not ScoringRule.objects.filter(label="Big order volume").exists()
    assert not RuleSetVersion.objects.exists()


def test_a_range_needs_its_low_bound_below_the_high_one(workspace, manager):
    response = manager.post(
        "/scoring/rules/new/",
        {**NEW_RULE, "field": "employees", "op": "between", "value": "90, 10"},
    )
    assert response.status_code == 422
    assert b"the low bound is above the high bound" in response.content


def test_saving_a_rule_versions_the_rules_and_rescores_open_leads(workspace, manager):
    lead = capture({**INSURER, "custom": {"order_volume": 800}}).lead
    assert lead.score == 20
    response = manager.post("/scoring/rules/new/", NEW_RULE, follow=True)
    assert b"Saved as rule set v1" in response.content
    version = RuleSetVersion.objects.get()
    assert "Added “Big order volume” (maria)" == version.note
    assert {"label": "Big order volume", "value": 500, "points": 30} in [
        {k: r[k] for k in ("label", "value", "points")} for r in version.rules
    ]
    assert Job.objects.filter(kind="rescore_open", status="pending").exists()
    run_until_idle()
    lead.refresh_from_db()
    assert lead.score == 50
    assert {"Big order volume": 30}.items() <= {
        p["label"]: p["points"] for p in lead.score_parts
    }.items()


def test_the_preview_counts_leads_the_change_moves_across_the_line_and_saves_nothing(
    workspace, manager
):
    capture({**INSURER, "custom": {"order_volume": 800}})
    capture({**INSURER, "email": "small@acme-corp.com", "custom": {"order_volume": 20}})
    response = manager.post("/scoring/rules/new/", {**NEW_RULE, "preview": "1"})
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", response.content.decode())
    assert (
        "This change would move 1 open lead across the MQL line: 1 up to MQL, 0 below it "
        "(of 2 open leads checked)."
    ) in text
    assert 'value="Big order volume"' in text  # the form keeps what was typed
    assert not ScoringRule.objects.filter(label="Big order volume").exists()
    assert not RuleSetVersion.objects.exists()


def test_editing_a_rule_previews_against_the_current_rules(workspace, manager):
    capture({**INSURER, "source": "demo_request"})  # 55: demo +35
    rule = ScoringRule.objects.get(label="Requested a demo")
    page = manager.get(f"/scoring/rules/{rule.pk}/").content.decode()
    assert 'value="demo_request"' in page and 'value="35"' in page
    response = manager.post(
        f"/scoring/rules/{rule.pk}/",
        {
            **NEW_RULE,
            "kind": "engagement",
            "label": rule.label,
            "field": "source",
            "op": "eq",
            "value": "demo_request",
            "points": "20",
            "preview": "1",
        },
    )
    assert b"1 up to MQL, 0 below it" not in response.content
    assert b"0 up to MQL, 1 below it" in response.content
    assert ScoringRule.objects.get(pk=rule.pk).points == 35


def test_disabling_and_deleting_a_rule_are_new_versions(workspace, manager):
    rule = ScoringRule.objects.get(label="Target industry")
    response = manager.post(f"/scoring/rules/{rule.pk}/toggle/", follow=True)
    assert b"disabled. Saved as rule set v1" in response.content
    assert not ScoringRule.objects.get(pk=rule.pk).is_active
    capture({**INSURER, "source": "inbound_call"})  # 30 + 10 (industry disabled): 40
    confirm = manager.get(f"/scoring/rules/{rule.pk}/delete/")
    assert b"would move 0 open leads across the MQL line" in confirm.content
    manager.post(f"/scoring/rules/{rule.pk}/delete/")
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()
    assert list(RuleSetVersion.objects.values_list("note", flat=True)) == [
        "Deleted “Target industry” (maria)",
        "Disabled “Target industry” (maria)",
    ]


def test_a_group_with_a_cap_is_created_and_a_rule_put_in_it(workspace, manager):
    response = manager.post(
        "/scoring/groups/new/", {"name": "Order size", "kind": "fit", "cap": "", "order": "1"}
    )
    assert response.status_code == 302
    group = RuleGroup.objects.get(name="Order size")
    assert group.cap is None
    manager.post("/scoring/rules/new/", {**NEW_RULE, "group": str(group.pk)})
    lead = capture({**INSURER, "custom": {"order_volume": 900}}).lead
    preview = manager.post(
        f"/scoring/groups/{group.pk}/",
        {"name": "Order size", "kind": "fit", "cap": "10", "order": "1", "preview": "1"},
    )
    assert b"0 up to MQL, 1 below it" in preview.content
    manager.post(
        f"/scoring/groups/{group.pk}/",
        {"name": "Order size", "kind": "fit", "cap": "10", "order": "1"},
    )
    run_until_idle()
    lead.refresh_from_db()
    assert lead.score == 30
    assert {"Order size: capped at 10": -20}.items() <= {
        p["label"]: p["points"] for p in lead.score_parts
    }.items()


def test_a_rule_of_the_wrong_kind_for_its_group_is_refused_on_the_group_field(workspace, manager):
    group = RuleGroup.objects.create(name="Web engagement", kind="engagement", cap=30)
    response = manager.post("/scoring/rules/new/", {**NEW_RULE, "group": str(group.pk)})
    assert response.status_code == 422
    assert "“Web engagement” groups engagement rules" in response.content.decode()


def test_labels_are_escaped(workspace, manager):
    manager.post("/scoring/rules/new/", {**NEW_RULE, "label": "<script>alert(1)</script>"})
    page = manager.get("/scoring/rules/").content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_posting_without_the_csrf_token_is_refused(workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(workspace.manager)
    assert client.post("/scoring/rules/new/", NEW_RULE).status_code == 403
    page = client.get("/scoring/rules/new/")
    token = csrf_token(page.content)
    assert (
        client.post("/scoring/rules/new/", {**NEW_RULE, "csrfmiddlewaretoken": token}).status_code
        == 302
    )


def test_a_manager_sets_the_mql_line_and_actions_of_their_own_team_only(workspace, manager):
    capture(INSURER)  # 20 points
    url = f"/scoring/teams/{workspace.americas.pk}/mql/"
    form = {
        "mql_threshold": "20",
        "prospect_threshold": "15",
        "create_task": "on",
        "task_title": "Call within the hour",
        "task_due_hours": "1",
    }
    preview = manager.post(url, {**form, "preview": "1"})
    assert b"This line would move 1 of the team" in preview.content
    bad = manager.post(url, {**form, "mql_threshold": "150", "task_title": ""})
    assert bad.status_code == 422
    assert "between 0 and 100" in bad.content.decode()
    assert "name the follow-up task" in bad.content.decode()
    assert manager.post(url, form).status_code == 302
    workspace.americas.refresh_from_db()
    assert (workspace.americas.mql_threshold, workspace.americas.prospect_threshold) == (20, 15)
    policy = MqlPolicy.objects.get(team=workspace.americas)
    assert (policy.task_title, policy.task_due_hours, policy.reroute) == (
        "Call within the hour",
        1,
        False,
    )
    assert manager.get(f"/scoring/teams/{workspace.emea.pk}/mql/").status_code == 403


def test_the_prospect_flag_follows_the_teams_bar(workspace, manager):
    lead = capture(INSURER).lead  # fit 20: business email, target industry
    page = f"/leads/{lead.pk}/"
    assert "Prospect (fits ICP)" not in manager.get(page).content.decode()  # the bar is 30
    manager.post(
        f"/scoring/teams/{workspace.americas.pk}/mql/",
        {"mql_threshold": "50", "prospect_threshold": "20", "task_due_hours": "4"},
    )
    assert "Prospect (fits ICP)" in manager.get(page).content.decode()
