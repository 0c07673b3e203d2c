from leadline.core.models import ApiToken
from leadline.intake.pipeline import capture
from leadline.leads.models import Lead


def bearer(client, user):
    _token, raw = ApiToken.issue(user, "test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_manager_reassigns_many_leads(client, workspace):
    ids = [capture({"email": f"l{i}@acme-corp.com"}).lead.pk for i in range(4)]
    response = client.post(
        "/api/v1/leads/reassign",
        {"ids": ids, "owner": workspace.teammate.pk, "reason": "Jordan is on leave"},
        content_type="application/json",
        **bearer(client, workspace.manager),
    )
    assert response.status_code == 200 and response.json() == {"reassigned": 4}
    assert set(Lead.objects.values_list("owner", flat=True)) == {workspace.teammate.pk}


def test_bulk_reassign_is_all_or_nothing(client, workspace):
    mine = capture({"email": "a@acme-corp.com"}).lead
    theirs = capture({"email": "b@example.de", "country": "DE"}).lead  # EMEA's lead
    response = client.post(
        "/api/v1/leads/reassign",
        {"ids": [mine.pk, theirs.pk], "owner": workspace.teammate.pk, "reason": "x"},
        content_type="application/json",
        **bearer(client, workspace.manager),
    )
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "ids"
    mine.refresh_from_db()
    assert mine.owner == workspace.owner


def test_reps_cannot_bulk_reassign(client, workspace):
    lead = capture({"email": "a@acme-corp.com"}).lead
    response = client.post(
        "/api/v1/leads/reassign",
        {"ids": [lead.pk], "owner": workspace.teammate.pk, "reason": "x"},
        content_type="application/json",
        **bearer(client, workspace.owner),
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == workspace.owner


def test_a_reason_is_required(client, workspace):
    lead = capture({"email": "a@acme-corp.com"}).lead
    response = client.post(
        "/api/v1/leads/reassign",
        {"ids": [lead.pk], "owner": workspace.teammate.pk, "reason": " "},
        content_type="application/json",
        **bearer(client, workspace.manager),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"
