import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadline.core.clock import clock
from leadline.core.dispatch import dispatcher
from leadline.core.models import Job
from leadline.core.worker import run_until_idle, tick
from leadline.intake.pipeline import capture
from leadline.leads import actions
from leadline.leads.models import Lead
from tests.conftest import at_once


def test_the_owner_is_emailed_about_a_new_lead(workspace, smtp):
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    run_until_idle()
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["to"] == ["jordan@example.com"]
    assert message["subject"].startswith("New lead: Dana")
    assert f"/leads/{lead.pk}/" in message["body"] and "round-robin" in message["body"].lower()
    assert Job.objects.get(kind="notify_owner").status == "done"
    assert Job.objects.get(kind="lead_captured").status == "done"


def test_a_down_mail_server_loses_nothing_and_is_retried(workspace, smtp, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there
    capture({"email": "dana@acme-corp.com"})
    tick()
    job = Job.objects.get(kind="notify_owner")
    assert job.status == "pending" and job.attempts == 1 and "refused" in job.last_error.lower()
    assert Lead.objects.count() == 1 and smtp.messages == []
    settings.EMAIL_PORT = port
    tick()  # not due yet: backing off
    assert smtp.messages == []
    clock.advance(minutes=1)
    tick()
    assert len(smtp.messages) == 1
    assert Job.objects.get(kind="notify_owner").status == "done"


def test_an_sla_breach_is_recorded_and_escalated_once(workspace, smtp):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    run_until_idle()
    smtp.messages.clear()
    clock.advance(minutes=4)
    tick()
    assert Lead.objects.get().sla_breached_at is None
    clock.advance(minutes=2)
    run_until_idle()
    run_until_idle()  # a second worker round finds nothing new
    lead.refresh_from_db()
    assert lead.sla_breached_at == clock.now()
    assert lead.events.filter(kind="sla_breached").count() == 1
    assert len(smtp.messages) == 1
    assert sorted(smtp.messages[0]["to"]) == ["jordan@example.com", "maria@example.com"]


def test_a_lead_answered_in_time_never_breaches(workspace, smtp):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    clock.advance(minutes=2)
    actions.log_activity(lead, "email", workspace.owner, subject="Hello")
    clock.advance(hours=3)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.sla_breached_at is None


def test_disqualified_leads_come_back_after_their_recycle_period(workspace):
    lead = capture({"email": "dana@acme-corp.com"}).lead
    actions.transition(lead, "disqualified", workspace.owner, reason_code="no_budget")
    clock.advance(days=80)
    run_until_idle()
    assert Lead.objects.get().status == "disqualified"
    clock.advance(days=60)
    run_until_idle()
    lead.refresh_from_db()
    assert lead.status == "new" and lead.recycle_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_crashed_workers_job_is_picked_up_again(workspace, smtp):
    capture({"email": "dana@acme-corp.com"})
    Job.objects.update(status="running", locked_until=clock.now() + timedelta(minutes=5))
    tick()
    assert smtp.messages == []  # still leased to the worker that died
    clock.advance(minutes=6)
    tick()
    assert sum("New lead:" in m["subject"] for m in smtp.messages) == 1


def test_a_burst_of_leads_is_notified_in_one_round(workspace, smtp):
    leads = [
        capture({"email": f"lead{i}@acme-corp.com", "first_name": f"L{i}"}).lead for i in range(30)
    ]
    assert tick()  # one round handles the whole burst
    assert not Job.objects.filter(lead_id__isnull=False).exclude(status="done").exists()
    subjects = sorted(m["subject"] for m in smtp.messages if m["subject"].startswith("New lead:"))
    assert len(subjects) == 30 and len(set(subjects)) == 30
    for lead in leads:
        lead.refresh_from_db()
        assert lead.owner_id is not None


def test_a_rounds_queries_do_not_grow_with_its_batch(workspace, smtp):
    run_until_idle()  # this minute's sweep is done
    counts = []
    for n in (3, 30):
        for i in range(n):
            capture({"email": f"lead{n}-{i}@acme-corp.com", "first_name": f"L{i}"})
        with CaptureQueriesContext(connection) as queries:
            assert tick()
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert sum(m["subject"].startswith("New lead:") for m in smtp.messages) == 33
    assert not Job.objects.exclude(status="done").exists()


def test_a_single_job_is_claimed_alone_and_done(workspace, smtp):
    leads = [capture({"email": f"l{i}@acme-corp.com"}).lead for i in range(3)]
    run_until_idle()
    for lead in leads:
        Job.objects.create(
            kind="notify_rule",
            lead_id=lead.pk,
            run_at=clock.now(),
            created_at=clock.now(),
            payload={"rule": "Stalled"},
        )
    assert tick()
    rule_jobs = Job.objects.filter(kind="notify_rule")
    assert [job.status for job in rule_jobs] == ["done"] * 3
    assert all(job.attempts == 1 and job.locked_until is None for job in rule_jobs)
    assert sum("Needs attention" in m["subject"] for m in smtp.messages) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_new_lead_email_once(workspace, smtp):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race is a PostgreSQL concern")
    for i in range(60):
        capture({"email": f"lead{i}@acme-corp.com", "first_name": f"L{i}"})
    at_once(4, lambda i: run_until_idle())
    new_lead = [m["subject"] for m in smtp.messages if m["subject"].startswith("New lead:")]
    assert len(new_lead) == 60 and len(set(new_lead)) == 60
    assert Job.objects.filter(kind="notify_owner", status="done", attempts=1).count() == 60
    assert Job.objects.filter(kind="lead_captured", status="done", attempts=1).count() == 60


@pytest.mark.django_db(transaction=True)
def test_instant_dispatch_emails_the_owner_without_waiting_for_the_worker(
    workspace, smtp, settings
):
    settings.LEADLINE_INSTANT_DISPATCH = True  # as in `leadline serve`'s web processes
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    deadline = time.monotonic() + 10
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m["subject"][:14] for m in smtp.messages] == ["New lead: Dana"]
    assert dispatcher.wait_idle()
    job = Job.objects.get(kind="notify_owner", lead_id=lead.pk)
    assert job.status == "done" and job.attempts == 1
    assert not tick() or len(smtp.messages) == 1  # the worker finds nothing left to send
    assert len(smtp.messages) == 1
