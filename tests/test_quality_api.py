"""Data quality over the JSON API: the review queue, merge, dismiss, unmerge, a lead's likely
duplicates and account."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leadline.core.models import ApiToken, Membership
from leadline.deals.models import Account
from leadline.intake.pipeline import capture
from leadline.leads.models import Lead
from leadline.quality.models import (
    CandidateStatus,
    DuplicateCandidate,
    MatchSettings,
    MergeRecord,
)

DANA = {
    "first_name": "Dana",
    "last_name": "Scully",
    "email": "dana.scully@acme-corp.com",
    "title": "VP Operations",
    "company": "Acme Corp",
    "source": "demo_request",
}
TWIN = {**DANA, "email": "dana.scully@gmail.com", "title": "COO", "source": "webinar"}


def review_every_match() -> None:
    """This workspace merges nothing by itself: a second record of a person stays a lead of
    its own, and the pair waits in the review queue."""
    MatchSettings.objects.create(auto_merge_threshold=1.0)


class Api:
    def __init__(self, user):
        _, raw = ApiToken.issue(user, "test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(self, path):
        return self.client.get(f"/api/v1{path}")

    def post(self, path, body=None):
        return self.client.post(f"/api/v1{path}", body or {}, content_type="application/json")


@pytest.fixture
def pair(workspace):
    review_every_match()
    capture(DANA), capture(TWIN)
    return DuplicateCandidate.objects.get()  # queued by the second capture


def test_the_queue_lists_pairs_with_their_evidence(pair, workspace):
    got = Api(workspace.manager).get("/quality/candidates")
    assert got.status_code == 200
    body = got.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert (item["lead_a"], item["lead_b"], item["status"]) == (
        pair.lead_a_id,
        pair.lead_b_id,
        "open",
    )
    assert item["evidence"][0]["field"] == "shared keys"


def test_reps_are_refused_and_other_teams_get_404(pair, workspace):
    assert Api(workspace.owner).get("/quality/candidates").status_code == 403
    other = get_user_model().objects.create_user("eve", "eve@example.com", "pw-123456789")
    Membership.objects.create(user=other, team=workspace.emea, role="manager")
    api = Api(other)
    assert api.get("/quality/candidates").json()["count"] == 0
    assert api.get(f"/quality/candidates/{pair.pk}").status_code == 404
    assert api.post(f"/quality/candidates/{pair.pk}/dismiss").status_code == 404
    lead_ids = [pair.lead_a_id, pair.lead_b_id]
    refused = api.post("/quality/merges", {"primary": lead_ids[0], "duplicates": lead_ids[1:]})
    assert refused.status_code == 404


def test_merge_a_pair_then_undo_it(pair, workspace):
    api = Api(workspace.manager)
    done = api.post(
        f"/quality/candidates/{pair.pk}/merge",
        {"survivor": pair.lead_b_id, "overrides": {"email": pair.lead_a_id}, "reason": "dupe"},
    )
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["survivor"] == pair.lead_b_id and body["merged"] == [pair.lead_a_id]
    assert Lead.objects.get(pk=pair.lead_b_id).email == "dana.scully@acme-corp.com"
    assert api.get("/quality/candidates?status=merged").json()["count"] == 1
    assert [m["id"] for m in api.get("/quality/merges").json()] == [body["id"]]
    undone = api.post(f"/quality/merges/{body['id']}/unmerge")
    assert undone.status_code == 200 and undone.json()["unmerged_at"]
    assert Lead.objects.get(pk=pair.lead_a_id).merged_into_id is None
    again = api.post(f"/quality/merges/{body['id']}/unmerge")
    assert again.status_code == 422 and "already undone" in again.json()["detail"]


def test_a_survivor_outside_the_pair_is_a_field_error(pair, workspace):
    got = Api(workspace.manager).post(f"/quality/candidates/{pair.pk}/merge", {"survivor": 999})
    assert got.status_code == 422 and got.json()["errors"][0]["field"] == "survivor"
    assert not MergeRecord.objects.exists()


def test_dismiss(pair, workspace):
    got = Api(workspace.manager).post(f"/quality/candidates/{pair.pk}/dismiss")
    assert got.status_code == 200 and got.json()["status"] == "dismissed"
    assert DuplicateCandidate.objects.get().status == CandidateStatus.DISMISSED
    assert Api(workspace.manager).post(f"/quality/candidates/{pair.pk}/dismiss").status_code == 422


def test_merge_any_leads(workspace):
    review_every_match()
    dana, twin = capture(DANA).lead, capture(TWIN).lead
    got = Api(workspace.manager).post(
        "/quality/merges", {"primary": dana.pk, "duplicates": [twin.pk], "overrides": {"nope": 1}}
    )
    assert got.status_code == 422 and got.json()["errors"][0]["field"] == "overrides.nope"
    got = Api(workspace.manager).post(
        "/quality/merges", {"primary": dana.pk, "duplicates": [twin.pk]}
    )
    assert got.status_code == 201 and Lead.objects.get(pk=twin.pk).merged_into_id == dana.pk


def test_a_leads_likely_duplicates_and_account(workspace):
    review_every_match()
    dana, twin = capture(DANA).lead, capture(TWIN).lead
    Account.objects.create(name="ACME Corp.", domain="acme-corp.com")
    api = Api(workspace.manager)
    got = api.get(f"/leads/{twin.pk}/duplicates").json()
    assert [m["lead_id"] for m in got] == [dana.pk] and got[0]["evidence"]
    # Riley owns the twin but cannot see Jordan's Dana: she is not revealed.
    assert Api(workspace.teammate).get(f"/leads/{twin.pk}/duplicates").json() == []
    account = api.get(f"/leads/{dana.pk}/account").json()
    assert account["name"] == "ACME Corp." and account["method"] == "domain"
    assert Api(workspace.outsider).get(f"/leads/{dana.pk}/duplicates").status_code == 404
