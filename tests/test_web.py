"""The HTML UI, through Django's test client: login, queue, lead page, actions, tokens."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leadline.core.models import ApiToken, Membership
from leadline.deals.models import Opportunity
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Activity, Lead

DANA = {
    "first_name": "Dana",
    "last_name": "Scully",
    "email": "dana.scully@acme-corp.com",
    "title": "VP Operations",
    "company": "Acme Corp",
    "employees": 1200,
    "source": "demo_request",
}
BANT_YES = {"budget": True, "authority": True, "need": True, "timeline": True}


def login(client, user):
    client.force_login(user)
    return client


def csrf_token(html: bytes) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1).decode()


@pytest.fixture
def dana(workspace):
    lead = capture(DANA).lead
    assert lead.owner == workspace.owner
    return lead


def test_it_requires_login(client, dana):
    for url in ("/", "/leads/", f"/leads/{dana.pk}/", "/settings/tokens/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"
    response = client.post(f"/leads/{dana.pk}/activity/", {"kind": "call"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Activity.objects.exists()


def test_it_logs_in(workspace):
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client.get("/login/?next=/").content)
    form = {"username": "jordan", "password": "wrong-horse", "csrfmiddlewaretoken": token}
    refused = client.post("/login/", form)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert b"enter a correct username and password" in refused.content

    response = client.post("/login/", {**form, "password": "correct-horse-1", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    queue = client.get("/")
    assert queue.status_code == 200
    assert b"My queue" in queue.content and b"jordan" in queue.content


def test_the_queue_puts_the_most_urgent_first(client, workspace):
    # Only jordan takes new leads here, so every capture below is his.
    Membership.objects.filter(user=workspace.teammate).update(is_active=False)

    def at(hour, minute):
        return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)

    later = capture({"last_name": "Later", "company": "L"}, now=at(14, 59)).lead  # due 15:04
    sooner = capture({"last_name": "Sooner", "company": "S"}, now=at(14, 57)).lead  # due 15:02
    answered = capture({"last_name": "Answered", "company": "A"}, now=at(14, 50)).lead
    overdue = capture({"last_name": "Overdue", "company": "O"}, now=at(14, 40)).lead  # due 14:45
    elsewhere = capture({"last_name": "Elsewhere", "company": "E"}).lead
    actions.log_activity(answered, "call", workspace.owner)
    actions.reassign(elsewhere, workspace.teammate, workspace.manager, reason="Riley knows them")
    assert {later.owner, sooner.owner, answered.owner, overdue.owner} == {workspace.owner}

    html = login(client, workspace.owner).get("/").content.decode()
    rows = [
        (
            re.search(r'<a href="/leads/\d+/">([^<]+)</a>', row).group(1),
            re.search(r'class="badge[^"]*"[^>]*>([^<]+)<', row).group(1),  # the SLA badge
        )
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html.split("<tbody>")[1], re.S)
    ]
    assert rows == [
        ("Overdue", "overdue 15m"),
        ("Sooner", "2m left"),
        ("Later", "4m left"),
        ("Answered", "answered in 10m"),
    ]
    assert "Elsewhere" not in html  # riley's lead is not in jordan's queue

    riley = login(Client(), workspace.teammate).get("/").content.decode()
    assert "Elsewhere" in riley and "Overdue" not in riley


def test_the_lead_page_explains_the_score_and_the_owner(client, workspace, dana):
    response = login(client, workspace.owner).get(f"/leads/{dana.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    parts = re.search(r'<ul class="parts" id="score-parts">(.*?)</ul>', html, re.S).group(1)
    assert "+35</span> Requested a demo" in parts
    assert "+20</span> Vice president" in parts
    assert f"<h2>Score {dana.score} " in html
    why = re.search(r'<p id="why-owner">(.*?)</p>', html, re.S).group(1)
    assert "jordan was next in turn" in why
    assert "Owner: jordan" in html
    assert "First response due 2026-03-02 15:05 UTC" in html


def test_an_outsider_gets_404(client, workspace, dana):
    login(client, workspace.outsider)
    assert client.get(f"/leads/{dana.pk}/").status_code == 404
    response = client.post(f"/leads/{dana.pk}/activity/", {"kind": "call", "subject": "Hi"})
    assert response.status_code == 404
    assert not Activity.objects.exists()
    assert b"Scully" not in client.get("/leads/").content
    assert b"Scully" not in client.get("/?scope=all").content


def test_a_marketer_cannot_act_on_a_lead(client, workspace, dana):
    mia = get_user_model().objects.create_user("mia", "mia@example.com", "correct-horse-1")
    Membership.objects.create(user=mia, team=workspace.americas, role="marketer")
    login(client, mia)
    page = client.get(f"/leads/{dana.pk}/")
    assert page.status_code == 200 and b'id="activity-form"' not in page.content
    response = client.post(f"/leads/{dana.pk}/activity/", {"kind": "call"})
    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_csrf_is_enforced_on_lead_actions(workspace, dana):
    client = login(Client(enforce_csrf_checks=True), workspace.owner)
    url = f"/leads/{dana.pk}/activity/"
    refused = client.post(url, {"kind": "call", "subject": "Intro call"})
    assert refused.status_code == 403
    assert not Activity.objects.exists()

    token = csrf_token(client.get(f"/leads/{dana.pk}/").content)
    response = client.post(
        url, {"kind": "call", "subject": "Intro call", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == f"/leads/{dana.pk}/"
    assert Activity.objects.get().subject == "Intro call"


def test_logging_a_call_stops_the_sla_clock(client, workspace, dana):
    login(client, workspace.owner)
    response = client.post(
        f"/leads/{dana.pk}/activity/",
        {"kind": "call", "subject": "Intro call", "outcome": "connected"},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Activity logged." in html
    assert "answered in 0s" in html and "5m left" not in html
    assert "Call: Intro call" in html  # on the timeline
    dana.refresh_from_db()
    assert dana.first_response_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_bad_activity_is_shown_as_a_form_error(client, workspace, dana):
    response = login(client, workspace.owner).post(f"/leads/{dana.pk}/activity/", {"kind": "fax"})
    assert response.status_code == 422
    assert b"Select a valid choice" in response.content
    assert not Activity.objects.exists()


def test_it_sets_the_next_step(client, workspace, dana):
    login(client, workspace.owner)
    response = client.post(
        f"/leads/{dana.pk}/next-step/",
        {"title": "Send pricing", "due_at": "2026-03-03T10:00"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Next step set." in response.content
    assert re.search(rb'<p id="next-step"><strong>Send pricing</strong>', response.content)
    assert b"due in 19h 0m" in response.content
    dana.refresh_from_db()
    # A datetime-local value is read in the server's time zone (UTC).
    assert dana.next_step_due_at == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_a_refused_transition_is_shown_on_the_form(client, workspace, dana):
    login(client, workspace.owner)
    response = client.post(f"/leads/{dana.pk}/transition/", {"to": "working"})
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(
        r'has-error">Next step.*?<span class="error">a next step with a due time is required',
        html,
        re.S,
    )
    assert 'id="lead-status">New<' in html
    dana.refresh_from_db()
    assert dana.status == "new"

    response = client.post(f"/leads/{dana.pk}/transition/", {"to": "converted"})
    assert response.status_code == 422
    assert b"Select a valid choice" in response.content


def test_it_moves_a_lead_to_qualified(client, workspace, dana):
    login(client, workspace.owner)
    url = f"/leads/{dana.pk}/transition/"
    form = {"to": "working", "next_step": "Discovery call", "next_step_due_at": "2026-03-03T10:00"}
    assert client.post(url, form).status_code == 302
    response = client.post(
        url,
        {"to": "qualified", "q_budget": "on", "q_authority": "on", "q_need": "on"},
    )
    assert response.status_code == 422
    assert b"Buying within the timeline: not met" in response.content
    response = client.post(
        url,
        {"to": "qualified", **{f"q_{key}": "on" for key in BANT_YES}},
        follow=True,
    )
    html = response.content.decode()
    assert 'id="lead-status">Qualified<' in html
    assert "working → qualified" in html
    dana.refresh_from_db()
    assert dana.status == "qualified" and dana.qualification == BANT_YES


def test_it_converts_a_qualified_lead(client, workspace, dana):
    actions.transition(
        dana,
        "working",
        workspace.owner,
        next_step="Demo",
        next_step_due_at=datetime(2026, 3, 3, tzinfo=UTC),
    )
    actions.transition(dana, "qualified", workspace.owner, answers=BANT_YES)
    login(client, workspace.owner)
    url = f"/leads/{dana.pk}/convert/"
    assert client.post(url, {"amount": "5000"}).status_code == 422  # the brief needs a problem
    response = client.post(
        url,
        {"problem": "Leads go cold overnight", "amount": "24000", "decision_makers": "Dana"},
        follow=True,
    )
    html = response.content.decode()
    assert "Converted: the opportunity and its handoff brief are ready." in html
    assert 'id="lead-status">Converted<' in html
    assert "Handoff brief" in html and "Leads go cold overnight" in html
    opportunity = Opportunity.objects.get()
    assert opportunity.handoff_brief["problem"] == "Leads go cold overnight"
    assert Lead.objects.get().converted_opportunity == opportunity


def test_it_escapes_what_leads_send(client, workspace):
    lead = capture(
        {"first_name": "<script>alert(1)</script>", "company": '"><img src=x onerror=alert(2)>'}
    ).lead
    login(client, workspace.owner)
    for url in (f"/leads/{lead.pk}/", "/", "/leads/"):
        html = client.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert "<script>alert(1)" not in html and "<img src=x" not in html, url


def test_the_token_page_shows_a_new_token_once(client, workspace):
    login(client, workspace.owner)
    assert b"No tokens yet." in client.get("/settings/tokens/").content
    response = client.post("/settings/tokens/", {"name": "Zapier"})
    assert response.status_code == 200
    raw = re.search(rb'<code id="new-token">(ll_[^<]+)</code>', response.content).group(1).decode()
    token = ApiToken.objects.get()
    assert (token.name, token.user) == ("Zapier", workspace.owner)
    assert ApiToken.objects.for_raw(raw) == token and token.digest != raw

    again = client.get("/settings/tokens/").content.decode()
    assert raw not in again and f"{token.prefix}…" in again
    api = Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200

    client.post("/settings/tokens/", {"revoke": token.pk})
    assert "revoked" in client.get("/settings/tokens/").content.decode()
    api = Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(client, workspace):
    token, raw = ApiToken.issue(workspace.teammate, "riley's script")
    login(client, workspace.owner).post("/settings/tokens/", {"revoke": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is None
    api = Client().get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
