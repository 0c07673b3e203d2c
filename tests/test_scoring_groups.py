"""Rule groups with caps, negative points and engagement decay: what a lead's score parts show."""

from datetime import timedelta

import pytest

from leadline.core.clock import clock
from leadline.core.errors import DomainError
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.scoring import ruleset
from leadline.scoring.models import RuleGroup, RuleSetVersion, ScoringRule
from leadline.scoring.rules import Rule, score


def parts(result) -> dict:
    return {p["label"]: p["points"] for p in result.parts}


def web_rule(label, field, points, group="Web engagement", cap=30, rule_id=None):
    return Rule(rule_id, "engagement", label, f"custom.{field}", "gte", 1, points, group, cap)


def test_a_group_gives_at_most_its_cap_and_says_so():
    rules = [
        web_rule("Visited pricing", "pricing", 20),
        web_rule("Visited docs", "docs", 15),
        web_rule("Clicked an email", "clicks", 10),
    ]
    record = {"custom": {"pricing": 1, "docs": 2, "clicks": 1}}
    result = score(record, rules, clock.now())
    assert result.engagement == 30 and result.total == 30
    assert parts(result) == {
        "Visited pricing": 20,
        "Visited docs": 15,
        "Clicked an email": 10,
        "Web engagement: capped at 30": -15,
    }


def test_under_the_cap_nothing_is_cut():
    rules = [web_rule("Visited pricing", "pricing", 20), web_rule("Visited docs", "docs", 15)]
    result = score({"custom": {"pricing": 1}}, rules, clock.now())
    assert result.engagement == 20
    assert not any("capped" in p["label"] for p in result.parts)


def test_negative_points_count_even_when_the_group_is_over_its_cap():
    rules = [
        web_rule("Visited pricing", "pricing", 20),
        web_rule("Visited docs", "docs", 15),
        web_rule("Visited the careers page", "careers", -10),
    ]
    result = score({"custom": {"pricing": 1, "docs": 1, "careers": 1}}, rules, clock.now())
    assert result.engagement == 20  # 35 capped at 30, then -10
    assert parts(result)["Visited the careers page"] == -10


def test_a_negative_fit_rule_lowers_the_score_and_it_never_goes_below_zero():
    rules = [
        Rule(None, "fit", "Student or academic title", "title", "contains", ["student"], -20),
        Rule(None, "fit", "Manager", "seniority", "eq", "manager", 8),
    ]
    result = score({"title": "PhD student", "seniority": "manager"}, rules, clock.now())
    assert result.fit == -12 and result.total == 0


def test_engagement_decays_with_its_half_life_after_the_cap():
    rules = [web_rule("Visited pricing", "pricing", 20), web_rule("Visited docs", "docs", 20)]
    record = {"custom": {"pricing": 1, "docs": 1}, "last_engaged_at": clock.now()}
    assert score(record, rules, clock.now() + timedelta(days=30)).engagement == 15
    result = score(record, rules, clock.now() + timedelta(days=60))
    assert result.engagement == 8  # 30 × 0.25 = 7.5, rounded
    assert parts(result)["Decay (25% left, half-life 30 days)"] == -22


def test_fit_is_not_decayed():
    rules = [Rule(None, "fit", "Vice president", "seniority", "eq", "vp", 20)]
    record = {"seniority": "vp", "last_engaged_at": clock.now()}
    assert score(record, rules, clock.now() + timedelta(days=300)).fit == 20


def test_a_captured_lead_shows_the_cap_and_a_changed_cap_applies_to_the_next_capture(workspace):
    ruleset.save_group({"name": "Web engagement", "kind": "engagement", "cap": 30})
    group = RuleGroup.objects.get()
    for label, field, points in [("Pricing page", "pricing", 25), ("Docs", "docs", 20)]:
        ruleset.save_rule(
            {
                "kind": "engagement",
                "group": group.pk,
                "label": label,
                "field": f"custom.{field}",
                "op": "gte",
                "value": "1",
                "points": points,
            }
        )
    lead = capture({"email": "a@acme-corp.com", "custom": {"pricing": 2, "docs": 1}}).lead
    shown = {p["label"]: (p["points"], p.get("group")) for p in lead.score_parts}
    assert shown["Web engagement: capped at 30"] == (-15, "Web engagement")
    assert shown["Pricing page"] == (25, "Web engagement")
    assert lead.engagement_score == 30

    ruleset.save_group({"cap": 40}, group)  # the capture's cached rules notice the new cap
    again = capture({"email": "b@acme-corp.com", "custom": {"pricing": 2, "docs": 1}}).lead
    assert again.engagement_score == 40

    run_until_idle()  # the saved change re-scores open leads in the background
    lead.refresh_from_db()
    assert lead.engagement_score == 40
    versioned = {r["label"]: r for r in RuleSetVersion.objects.first().rules}
    assert versioned["Docs"]["group"] == "Web engagement" and versioned["Docs"]["cap"] == 40


def test_deleting_a_group_keeps_its_rules_without_the_cap(workspace):
    ruleset.save_group({"name": "Web", "kind": "engagement", "cap": 10})
    group = RuleGroup.objects.get()
    ruleset.save_rule(
        {
            "kind": "engagement",
            "group": group.pk,
            "label": "Pricing page",
            "field": "custom.pricing",
            "op": "gte",
            "value": "1",
            "points": 25,
        }
    )
    ruleset.delete_group(group)
    rule = ScoringRule.objects.get(label="Pricing page")
    assert rule.group is None
    lead = capture({"email": "a@acme-corp.com", "custom": {"pricing": 1}}).lead
    assert lead.engagement_score == 25


def test_a_rule_cannot_join_a_group_of_the_other_kind(workspace):
    ruleset.save_group({"name": "Firmographics", "kind": "fit", "cap": 40})
    with pytest.raises(DomainError) as refused:
        ruleset.save_rule(
            {
                "kind": "engagement",
                "group": RuleGroup.objects.get().pk,
                "label": "Pricing page",
                "field": "custom.pricing",
                "op": "gte",
                "value": "1",
                "points": 5,
            }
        )
    assert refused.value.errors == {"group": "“Firmographics” groups fit rules"}
