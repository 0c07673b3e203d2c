import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from leadline.core.clock import clock
from leadline.core.models import AutoResponse, Job, Webhook
from leadline.core.worker import run_until_idle
from leadline.intake.pipeline import capture
from leadline.leads import actions


@pytest.fixture
def receiver():
    """A real HTTP endpoint on loopback that records what it is sent."""
    got = []

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"headers": dict(self.headers), "body": body})
            self.send_response(Handler.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/hook", "got": got, "handler": Handler}
    server.shutdown()


def test_a_new_lead_is_posted_signed_to_a_webhook(workspace, receiver, smtp):
    Webhook.objects.create(
        name="Chat", url=receiver["url"], events=["lead.created"], secret="s3cret"
    )
    lead = capture({"email": "dana@acme-corp.com", "first_name": "Dana"}).lead
    run_until_idle()
    assert len(receiver["got"]) == 1
    sent = receiver["got"][0]
    payload = json.loads(sent["body"])
    assert payload["event"] == "lead.created" and payload["lead"]["id"] == lead.pk
    assert payload["lead"]["owner"] == "jordan"
    expected = "sha256=" + hmac.new(b"s3cret", sent["body"], hashlib.sha256).hexdigest()
    assert sent["headers"]["X-Leadline-Signature"] == expected


def test_a_failing_webhook_is_retried(workspace, receiver, smtp):
    Webhook.objects.create(name="Chat", url=receiver["url"], events=["lead.created"])
    receiver["handler"].status = 500
    capture({"email": "dana@acme-corp.com"})
    run_until_idle()
    job = Job.objects.get(kind="webhook")
    assert job.status == "pending" and "500" in job.last_error
    receiver["handler"].status = 204
    clock.advance(minutes=1)
    run_until_idle()
    assert Job.objects.get(kind="webhook").status == "done"
    assert len(receiver["got"]) == 2


def test_reassignment_and_breach_events_reach_webhooks(workspace, receiver, smtp):
    Webhook.objects.create(
        name="Chat", url=receiver["url"], events=["lead.assigned", "sla.breached"]
    )
    lead = capture({"email": "dana@acme-corp.com"}).lead
    actions.reassign(lead, workspace.teammate, workspace.manager, reason="Speaks Spanish")
    clock.advance(minutes=10)
    run_until_idle()
    events = sorted(json.loads(r["body"])["event"] for r in receiver["got"])
    assert events == ["lead.assigned", "sla.breached"]
    to_riley = [m for m in smtp.messages if m["to"] == ["riley@example.com"]]
    assert any("New lead" in m["subject"] for m in to_riley)


def test_the_lead_gets_an_instant_auto_response(workspace, smtp):
    AutoResponse.objects.create(
        name="Demo thanks",
        source="demo_request",
        subject="Thanks, {first_name}",
        body="{owner_name} will call you about {company} shortly.",
    )
    AutoResponse.objects.create(name="Generic", subject="Hello", body="Thanks")
    capture(
        {
            "email": "dana@acme-corp.com",
            "first_name": "Dana",
            "company": "Acme",
            "source": "demo_request",
        }
    )
    run_until_idle()
    to_lead = [m for m in smtp.messages if m["to"] == ["dana@acme-corp.com"]]
    assert len(to_lead) == 1
    assert to_lead[0]["subject"] == "Thanks, Dana"
    assert "jordan will call you about Acme shortly." in to_lead[0]["body"]


def test_no_auto_response_without_consent(workspace, smtp):
    AutoResponse.objects.create(name="Generic", subject="Hello", body="Thanks")
    capture({"email": "dana@acme-corp.com", "consent_email": False})
    capture({"email": "sam@acme-corp.com", "do_not_email": True})
    run_until_idle()
    assert not [m for m in smtp.messages if "acme-corp.com" in m["to"][0]]
