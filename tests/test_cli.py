"""The `leadline` command line: each subcommand is a management command, run with call_command
(same process, test database) except `--help`, which runs as a real subprocess."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from leadline.core.clock import clock
from leadline.core.models import ApiToken, Membership, Team
from leadline.deals.models import Opportunity
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# createuser -------------------------------------------------------------------------------------


def test_createuser_reads_the_password_from_stdin(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-9\n"))
    out, _ = run(
        "createuser",
        "sam",
        "--email",
        "sam@example.com",
        "--team",
        "Sales EMEA",
        "--role",
        "manager",
        "--password-stdin",
    )
    assert out.strip() == "Created sam (manager in Sales EMEA)."
    assert authenticate(username="sam", password="a-long-secret-9").email == "sam@example.com"
    membership = Membership.objects.get(user__username="sam")
    assert (membership.team.slug, membership.role) == ("sales-emea", "manager")


def test_createuser_joins_an_existing_team(workspace, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-9\n"))
    run("createuser", "kai", "--team", "americas", "--password-stdin")
    assert Team.objects.count() == 2
    assert Membership.objects.get(user__username="kai").team == workspace.americas
    # A rep of Americas now: kai takes a turn in the rotation.
    owners = {capture({"email": f"p{i}@acme-corp.com"}).lead.owner.username for i in range(3)}
    assert owners == {"jordan", "riley", "kai"}


def test_createuser_makes_a_superuser(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-9\n"))
    out, _ = run("createuser", "root", "--superuser", "--password-stdin")
    assert out.strip() == "Created root."
    root = get_user_model().objects.get(username="root")
    assert root.is_superuser and root.is_staff


def test_createuser_refuses_a_short_password_and_a_taken_name(workspace, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="at least 8 characters"):
        run("createuser", "kai", "--password-stdin")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-9\n"))
    with pytest.raises(CommandError, match="already exists"):
        run("createuser", "jordan", "--password-stdin")
    assert not get_user_model().objects.filter(username="kai").exists()
    assert authenticate(username="jordan", password="correct-horse-1") == workspace.owner


# token ------------------------------------------------------------------------------------------


def test_token_prints_a_working_token_once(workspace, client):
    out, _ = run("token", "jordan", "--name", "nightly sync")
    raw = out.strip()
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (workspace.owner, "nightly sync")
    assert token.digest != raw and raw not in token.digest
    response = client.get("/api/v1/leads", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_token_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        run("token", "nobody")
    assert not ApiToken.objects.exists()


# capture ----------------------------------------------------------------------------------------


def test_capture_reads_a_json_array(workspace, tmp_path):
    path = tmp_path / "leads.json"
    items = [
        {"email": "ana@acme-corp.com", "first_name": "ana"},
        {"email": "ben@globex.com", "source": "webinar"},
    ]
    path.write_text(json.dumps(items, indent=2))
    out, err = run("capture", str(path), "--source", "event")
    assert out.strip() == "2 created, 0 matched, 0 replayed, 0 invalid"
    assert err == ""
    leads = {lead.email: lead for lead in Lead.objects.all()}
    assert leads["ana@acme-corp.com"].first_name == "Ana"
    assert leads["ana@acme-corp.com"].source == "event"  # the default for leads naming none
    assert leads["ben@globex.com"].source == "webinar"
    assert leads["ana@acme-corp.com"].events.get(kind="captured").data["channel"] == "cli"


def test_capture_reads_jsonl(workspace, tmp_path):
    path = tmp_path / "leads.jsonl"
    lines = [{"email": f"p{i}@acme-corp.com"} for i in range(3)] + [{"email": "P0@acme-corp.com"}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    out, _ = run("capture", str(path))
    assert out.strip() == "3 created, 1 matched, 0 replayed, 0 invalid"
    assert Lead.objects.count() == 3
    assert Lead.objects.get(email="p0@acme-corp.com").touch_count == 2


def test_capture_reads_a_single_object(workspace, tmp_path):
    path = tmp_path / "lead.json"
    path.write_text(
        json.dumps({"email": "solo@acme-corp.com", "custom": {"plan": "pro"}}, indent=2)
    )
    out, _ = run("capture", str(path))
    assert out.strip() == "1 created, 0 matched, 0 replayed, 0 invalid"
    assert Lead.objects.get().custom == {"plan": "pro"}


def test_capture_reports_bad_items_and_keeps_the_good_ones(workspace, tmp_path):
    path = tmp_path / "leads.jsonl"
    lines = [
        {"email": "good@acme-corp.com"},
        {"email": "not-an-email"},
        {"email": "fine@globex.com", "employees": "lots"},
        {"email": "also-good@globex.com", "colour": "red"},
        {"email": "last@initech.com"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("capture", str(path), stdout=out, stderr=err)
    assert exited.value.code == 1
    assert out.getvalue().strip() == "2 created, 0 matched, 0 replayed, 3 invalid"
    reported = err.getvalue().splitlines()
    assert reported == [
        "item 2: email: is not a valid email address",
        "item 3: employees: must be a number",
        "item 4: colour: unknown field",
    ]
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "good@acme-corp.com",
        "last@initech.com",
    }


def test_capture_refuses_a_file_that_is_not_json(workspace, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("email\nana@acme-corp.com\n")
    with pytest.raises(CommandError, match="not JSON or JSONL"):
        run("capture", str(path))
    with pytest.raises(CommandError, match="no such file"):
        run("capture", str(tmp_path / "missing.json"))
    assert not Lead.objects.exists()


# leads ------------------------------------------------------------------------------------------


@pytest.fixture
def listed(workspace):
    jordans = capture(
        {"email": "dana@acme-corp.com", "company": "Acme", "title": "CEO", "source": "demo_request"}
    ).lead  # score 70: an MQL
    rileys = capture({"email": "zed@gmail.com", "company": "Zed Ltd", "source": "content"}).lead
    emea = capture({"email": "ute@kestrel.de", "country": "DE", "company": "Kestrel"}).lead
    actions.transition(
        rileys,
        "working",
        workspace.teammate,
        next_step="Call back",
        next_step_due_at=clock.now() + timedelta(days=1),
    )
    return jordans, rileys, emea


def test_leads_lists_with_filters(listed):
    jordans, rileys, emea = listed
    out, _ = run("leads")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "COMPANY", "STATUS", "SCORE", "OWNER"]
    assert [int(line.split()[0]) for line in lines[1:]] == [emea.pk, rileys.pk, jordans.pk]

    out, _ = run("leads", "--status", "working", "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(row["id"], row["owner"], row["status"]) for row in rows] == [
        (rileys.pk, "riley", "working")
    ]
    out, _ = run("leads", "--team", "emea", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [emea.pk]
    out, _ = run("leads", "--q", "acme", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [jordans.pk]
    out, _ = run("leads", "--stage", "mql", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [jordans.pk]
    with pytest.raises(CommandError, match="status: unknown status 'won'"):
        run("leads", "--status", "won")


def test_leads_shows_only_what_a_user_may_see(listed):
    jordans, rileys, emea = listed
    out, _ = run("leads", "--as", "alex", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [emea.pk]
    out, _ = run("leads", "--as", "jordan", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [jordans.pk]
    out, _ = run("leads", "--as", "riley", "--owner", "me", "--format", "json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [rileys.pk]
    with pytest.raises(CommandError, match="no user 'ghost'"):
        run("leads", "--as", "ghost")


def test_leads_csv_is_formula_safe(workspace, capsys):
    capture(
        {
            "email": "eve@evil.example",
            "first_name": "@Sum(1+1)",
            "company": '=HYPERLINK("http://evil.example","Click me")',
        }
    )
    capture({"email": "plain@acme-corp.com", "company": "Acme, Inc."})
    call_command("leads", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_email = {row["email"]: row for row in rows}
    evil = by_email["eve@evil.example"]
    assert evil["company"] == '\'=HYPERLINK("http://evil.example","Click me")'
    assert evil["first_name"] == "'@Sum(1+1)"
    assert by_email["plain@acme-corp.com"]["company"] == "Acme, Inc."
    assert evil["owner"] == "jordan" and evil["team"] == "Americas"


# demo and worker --------------------------------------------------------------------------------


def test_demo_builds_a_workspace_once(db):
    out, _ = run("demo", "--leads", "20")
    assert "Demo workspace ready: 20 new leads (0 already there)" in out
    assert Lead.objects.count() == 20
    statuses = list(Lead.objects.values_list("status", flat=True))
    assert statuses.count("qualified") + statuses.count("converted") >= 2  # a worked history
    assert "converted" in statuses
    assert Opportunity.objects.count() == Lead.objects.filter(status="converted").count()
    assert authenticate(username="jordan", password="leadline-demo") is not None
    before = (Lead.objects.count(), Opportunity.objects.count(), get_user_model().objects.count())

    out, _ = run("demo", "--leads", "20")
    assert "Demo workspace ready: 0 new leads (20 already there)" in out
    after = (Lead.objects.count(), Opportunity.objects.count(), get_user_model().objects.count())
    assert after == before


def test_worker_once_does_the_due_work(workspace, smtp):
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    run("worker", "--once")
    assert [m["to"] for m in smtp.messages if m["subject"].startswith("New lead: Dana")] == [
        ["jordan@example.com"]
    ]
    clock.advance(minutes=10)  # nobody answered within the 5-minute SLA
    run("worker", "--once")
    lead.refresh_from_db()
    assert lead.sla_breached_at == clock.now()
    breached = [m for m in smtp.messages if m["subject"].startswith("SLA breached: Dana")]
    assert len(breached) == 1
    assert set(breached[0]["to"]) == {"jordan@example.com", "maria@example.com"}
    run("worker", "--once")  # nothing new is due: no second mail
    assert len([m for m in smtp.messages if m["subject"].startswith("SLA breached")]) == 1


# the front door ---------------------------------------------------------------------------------


def test_python_m_leadline_help_runs(tmp_path):
    env = {**os.environ, "LEADLINE_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the front door sets it itself
    result = subprocess.run(
        [sys.executable, "-m", "leadline", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    for command in ("capture", "createuser", "demo", "leads", "serve", "token", "worker"):
        assert f"    {command}\n" in result.stdout, command
