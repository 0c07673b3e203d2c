"""The duplicate review queue, side-by-side merge and merge history in the web UI."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leadline.core.models import Membership
from leadline.intake.pipeline import capture
from leadline.leads.models import Lead
from leadline.quality.duplicates import find_duplicates, queue_reviews
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


@pytest.fixture
def pair(workspace):
    # Every match reviewed: the twin stays a lead of its own, its pair queued by the capture.
    MatchSettings.objects.create(auto_merge_threshold=1.0)
    capture(DANA), capture(TWIN)
    return DuplicateCandidate.objects.get()


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csrf_token(html: bytes) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1).decode()


def test_the_manager_sees_the_queue_and_the_nav_link(pair, workspace):
    page = as_user(workspace.manager).get("/quality/duplicates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/quality/duplicates/"' in html and "Dana Scully" in html
    assert f'href="/quality/duplicates/{pair.pk}/"' in html


def test_a_leads_page_names_its_possible_duplicate(pair, workspace):
    page = as_user(workspace.manager).get(f"/leads/{pair.lead_b_id}/").content.decode()
    section = page[page.index('id="possible-duplicates"') :]
    assert f'href="/leads/{pair.lead_a_id}/"' in section
    assert f'href="/quality/duplicates/{pair.pk}/"' in section
    assert "Dana Scully" in section and "likely the same as" in section
    # The rep who owns it learns a review is pending, with no way into the review pages.
    owner = Lead.objects.get(pk=pair.lead_b_id).owner
    page = as_user(owner).get(f"/leads/{pair.lead_b_id}/").content.decode()
    assert "a manager will review it" in page and "/quality/duplicates/" not in page
    pair.status = CandidateStatus.DISMISSED
    pair.save()
    page = as_user(workspace.manager).get(f"/leads/{pair.lead_b_id}/").content.decode()
    assert 'id="possible-duplicates"' not in page


def test_a_rep_may_not_review(pair, workspace):
    client = as_user(workspace.owner)
    assert client.get("/quality/duplicates/").status_code == 403
    assert client.post(f"/quality/duplicates/{pair.pk}/dismiss/").status_code == 403
    assert 'href="/quality/duplicates/"' not in client.get("/").content.decode()


def test_another_teams_manager_gets_404(pair, workspace):
    other = get_user_model().objects.create_user("eve", "eve@example.com", "pw-123456789")
    Membership.objects.create(user=other, team=workspace.emea, role="manager")
    client = as_user(other)
    assert client.get("/quality/duplicates/").content.decode().count("Compare") == 0
    assert client.get(f"/quality/duplicates/{pair.pk}/").status_code == 404
    assert (
        client.post(
            f"/quality/duplicates/{pair.pk}/merge/", {"survivor": pair.lead_a_id}
        ).status_code
        == 404
    )
    assert DuplicateCandidate.objects.get().status == CandidateStatus.OPEN


def test_the_pair_is_shown_side_by_side_with_differences_and_evidence(pair, workspace):
    html = as_user(workspace.manager).get(f"/quality/duplicates/{pair.pk}/").content.decode()
    title_row = re.search(r'<tr class="differs" data-field="title">.*?</tr>', html, re.S).group(0)
    assert "VP Operations" in title_row and "COO" in title_row
    assert (
        'data-field="company"' in html and '<tr class="differs" data-field="company">' not in html
    )
    assert 'id="evidence"' in html and "shared keys" in html


def test_merging_from_the_page_with_a_chosen_field(pair, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(workspace.manager)
    token = csrf_token(client.get(f"/quality/duplicates/{pair.pk}/").content)
    form = {
        "csrfmiddlewaretoken": token,
        "survivor": pair.lead_a_id,
        "use_title": pair.lead_a_id,
        "reason": "same person",
    }
    response = client.post(f"/quality/duplicates/{pair.pk}/merge/", form)
    assert response.status_code == 302 and response["Location"] == f"/leads/{pair.lead_a_id}/"
    survivor = Lead.objects.get(pk=pair.lead_a_id)
    assert survivor.title == "VP Operations"  # chosen, although the rule takes the newer one
    assert Lead.objects.get(pk=pair.lead_b_id).merged_into_id == survivor.pk
    record = MergeRecord.objects.get()
    assert record.by == workspace.manager and record.reason == "same person"


def test_merging_needs_the_csrf_token(pair, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(workspace.manager)
    response = client.post(f"/quality/duplicates/{pair.pk}/merge/", {"survivor": pair.lead_a_id})
    assert response.status_code == 403 and not MergeRecord.objects.exists()


def test_a_bad_survivor_is_shown_on_the_form(pair, workspace):
    response = as_user(workspace.manager).post(
        f"/quality/duplicates/{pair.pk}/merge/", {"survivor": 12345}
    )
    assert response.status_code == 422 and not MergeRecord.objects.exists()


def test_not_a_duplicate_is_remembered(pair, workspace):
    client = as_user(workspace.manager)
    response = client.post(f"/quality/duplicates/{pair.pk}/dismiss/")
    assert response.status_code == 302
    assert DuplicateCandidate.objects.get().status == CandidateStatus.DISMISSED
    assert "Dana Scully" not in client.get("/quality/duplicates/").content.decode()
    assert "Dana Scully" in client.get("/quality/duplicates/?status=dismissed").content.decode()
    twin = Lead.objects.get(pk=pair.lead_b_id)
    assert queue_reviews([(twin.pk, find_duplicates(twin))]) == 0


def test_history_lists_merges_and_unmerge_restores(pair, workspace):
    client = as_user(workspace.manager)
    client.post(f"/quality/duplicates/{pair.pk}/merge/", {"survivor": pair.lead_a_id})
    record = MergeRecord.objects.get()
    html = client.get("/quality/merges/").content.decode()
    assert f"/quality/merges/{record.pk}/undo/" in html and "Dana Scully" in html
    response = client.post(f"/quality/merges/{record.pk}/undo/")
    assert response.status_code == 302
    assert Lead.objects.get(pk=pair.lead_b_id).merged_into_id is None
    assert "undone" in client.get("/quality/merges/").content.decode()
    # Undoing twice says why.
    response = client.post(f"/quality/merges/{record.pk}/undo/", follow=True)
    assert "already undone" in response.content.decode()


def test_another_teams_manager_cannot_unmerge(pair, workspace):
    as_user(workspace.manager).post(
        f"/quality/duplicates/{pair.pk}/merge/", {"survivor": pair.lead_a_id}
    )
    record = MergeRecord.objects.get()
    other = get_user_model().objects.create_user("eve", "eve@example.com", "pw-123456789")
    Membership.objects.create(user=other, team=workspace.emea, role="manager")
    assert as_user(other).post(f"/quality/merges/{record.pk}/undo/").status_code == 404
    assert MergeRecord.objects.get().unmerged_at is None


def test_an_admin_sets_a_teams_thresholds_in_settings(workspace):
    from leadline.quality.models import MatchSettings

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = as_user(admin)
    form = {
        "team": workspace.americas.pk,
        "review_threshold": "0.7",
        "auto_merge_threshold": "0.6",
        "survivorship": "{}",
    }
    refused = client.post("/settings/admin/quality/matchsettings/add/", form)
    assert refused.status_code == 200 and "review threshold" in refused.content.decode()
    form.update(auto_merge_threshold="0.995", survivorship='{"title": "newest"}')
    refused = client.post("/settings/admin/quality/matchsettings/add/", form)
    assert "unknown rule" in refused.content.decode()
    form.update(survivorship='{"title": "survivor"}')
    assert client.post("/settings/admin/quality/matchsettings/add/", form).status_code == 302
    saved = MatchSettings.objects.get(team=workspace.americas)
    assert (saved.review_threshold, saved.auto_merge_threshold) == (0.7, 0.995)
