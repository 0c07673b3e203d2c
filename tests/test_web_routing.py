from datetime import timedelta

from django.test import Client

from leadline.core.clock import clock
from leadline.intake.pipeline import capture
from leadline.leads import actions


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_reassigns_with_a_reason(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    response = login(workspace.manager).post(
        f"/leads/{lead.pk}/assign/", {"owner": workspace.teammate.pk, "reason": "Spanish"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == workspace.teammate
    assert lead.events.filter(kind="assigned", summary__contains="Spanish").exists()


def test_a_reassignment_needs_a_reason(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    response = login(workspace.manager).post(
        f"/leads/{lead.pk}/assign/", {"owner": workspace.teammate.pk, "reason": ""}
    )
    assert response.status_code == 422
    lead.refresh_from_db()
    assert lead.owner == workspace.owner


def test_a_rep_cannot_reassign(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    response = login(workspace.owner).post(
        f"/leads/{lead.pk}/assign/", {"owner": workspace.teammate.pk, "reason": "mine"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == workspace.owner


def test_the_simulator_is_for_managers(workspace):
    for i in range(4):
        capture({"email": f"s{i}@acme-corp.com"})
    page = login(workspace.manager).get("/routing/simulate/?days=7")
    assert page.status_code == 200
    assert b"jordan" in page.content and b"riley" in page.content
    assert login(workspace.owner).get("/routing/simulate/").status_code == 403


def test_the_queue_highlights_stalled_leads(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    actions.transition(
        lead,
        "working",
        workspace.owner,
        next_step="Call back",
        next_step_due_at=clock.now() + timedelta(hours=1),
    )
    client = login(workspace.owner)
    assert b'id="stalled"' not in client.get("/").content
    clock.advance(hours=2)
    page = client.get("/").content.decode()
    assert 'id="stalled"' in page and 'class="stalled"' in page
