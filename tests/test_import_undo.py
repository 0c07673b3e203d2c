"""Undoing an import: the leads it created go, unless someone has worked them or they came in
again from elsewhere since; the list's cost comes off its campaign; the file can be imported
again afterwards."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from leadline.core.models import ApiToken, Campaign, Job
from leadline.core.worker import run_until_idle
from leadline.intake import imports
from leadline.intake.models import Import, ImportBatch
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead


def write_csv(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("import", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


LIST = [
    ["Email", "First Name", "Company"],
    ["ana@nova-labs.io", "Ana", "Nova Labs"],
    ["ben@quill.ai", "Ben", "Quill AI"],
    ["cem@orbit.dev", "Cem", "Orbit"],
    ["known@acme-corp.com", "Known", "Acme"],
    ["ana@nova-labs.io", "Ana again", "Nova Labs"],
]


def test_undo_removes_the_untouched_leads_and_keeps_the_worked_ones(
    workspace, tmp_path, frozen_clock
):
    known = capture({"email": "known@acme-corp.com", "first_name": "Known"}).lead
    path = write_csv(tmp_path / "funded.csv", LIST)
    run(path, "--campaign", "Funded startups", "--cost", "500")
    imp = Import.objects.get()
    assert imp.counts["new"] == 3 and Campaign.objects.get().cost == Decimal("500.00")
    ana, ben, cem = (
        Lead.objects.get(email=e) for e in ("ana@nova-labs.io", "ben@quill.ai", "cem@orbit.dev")
    )
    assert ImportBatch.objects.get().created_count == 3

    frozen_clock.advance(hours=2)
    actions.transition(  # a rep worked it
        ben,
        "working",
        workspace.owner,
        next_step="Send pricing",
        next_step_due_at=frozen_clock.now() + timedelta(days=1),
    )
    capture({"email": "cem@orbit.dev", "source": "web_form"}, channel="form")  # came again

    client = login(workspace.manager)
    page = client.get(f"/imports/{imp.pk}/").content.decode()
    assert 'id="undo-button"' in page
    response = client.post(f"/imports/{imp.pk}/undo/")
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "undone" and imp.undone_by == workspace.manager
    assert imp.undo_counts == {"removed": 1, "kept": 2}

    assert not Lead.objects.filter(pk=ana.pk).exists()
    assert not Job.objects.filter(lead_id=ana.pk).exists()  # no notification for a lead gone
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "known@acme-corp.com",
        "ben@quill.ai",
        "cem@orbit.dev",
    }
    known.refresh_from_db()
    assert known.touch_count == 2  # a lead that existed before keeps what the import added
    assert Campaign.objects.get().cost == Decimal("0.00")

    page = client.get(f"/imports/{imp.pk}/").content.decode()
    assert "1 lead removed, 2 kept because they were worked or captured again since" in page
    assert f"kept lead {ben.pk}: worked since the import (now working)" in page
    report = b"".join(client.get(f"/imports/{imp.pk}/report.csv").streaming_content)
    lines = list(csv.DictReader(io.StringIO(report.decode("utf-8-sig"))))
    assert [(int(r["lead_id"]), r["reason"]) for r in lines] == [
        (ben.pk, f"kept lead {ben.pk}: worked since the import (now working)"),
        (cem.pk, f"kept lead {cem.pk}: was captured again after the import"),
    ]

    # Undone, the same file can be imported again: nothing the undo kept is doubled.
    out = run(path, "--campaign", "Funded startups", "--cost", "500")
    assert "1 new, 3 duplicate of existing, 1 duplicate within file" in out
    assert Lead.objects.filter(email="ana@nova-labs.io").count() == 1
    assert Lead.objects.count() == 4 and Import.objects.count() == 1
    assert Campaign.objects.get().cost == Decimal("500.00")


def test_a_large_undo_runs_in_the_worker(workspace, tmp_path, settings):
    settings.LEADLINE_UNDO_INLINE_LEADS = 10
    rows = [["Email"]] + [[f"p{i}@acme-corp.com"] for i in range(25)]
    run(write_csv(tmp_path / "list.csv", rows), "--batch-size", "10")
    imp = Import.objects.get()
    assert ImportBatch.objects.filter(upload=imp).count() == 3

    _token, raw = ApiToken.issue(workspace.manager, "sync")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api.post(f"/api/v1/imports/{imp.pk}/undo").json()
    assert body["status"] == "undoing" and Lead.objects.count() == 25
    progress = login(workspace.manager).get(f"/imports/{imp.pk}/progress/").json()
    assert progress["running"] and progress["status"] == "undoing"
    run_until_idle()
    body = api.get(f"/api/v1/imports/{imp.pk}").json()
    assert body["status"] == "undone" and body["undo"] == {"removed": 25, "kept": 0}
    assert Lead.objects.count() == 0 and not ImportBatch.objects.exists()
    again = api.post(f"/api/v1/imports/{imp.pk}/undo")
    assert again.status_code == 422
    assert again.json()["errors"][0]["message"] == "this import was already undone"


def test_undo_from_the_command_line(workspace, tmp_path):
    run(write_csv(tmp_path / "list.csv", LIST[:3]))
    imp = Import.objects.get()
    out = run("--undo", imp.pk)
    assert out == f"Undone: import {imp.pk} (list.csv): 2 leads removed.\n"
    assert Lead.objects.count() == 0
    with pytest.raises(CommandError, match="already undone"):
        run("--undo", imp.pk)
    with pytest.raises(CommandError, match="no import 999"):
        run("--undo", 999)


def test_only_a_committed_leads_import_can_be_undone(workspace, tmp_path):
    path = write_csv(tmp_path / "list.csv", LIST[:2])
    run(path, "--dry-run")
    imp = Import.objects.get()
    with pytest.raises(imports.DomainError, match="only an import that stored leads"):
        imports.undo(imp)
    page = login(workspace.manager).get(f"/imports/{imp.pk}/").content.decode()
    assert 'id="undo-button"' not in page

    events = write_csv(
        tmp_path / "webinar.csv",
        [["Email", "Event type"], ["ana@nova-labs.io", "webinar_attended"]],
    )
    run(events, "--events")
    with pytest.raises(imports.DomainError, match="an events import cannot be undone"):
        imports.undo(Import.objects.get(kind="events"))

    rep = login(workspace.owner)
    assert rep.post(f"/imports/{imp.pk}/undo/").status_code == 403
