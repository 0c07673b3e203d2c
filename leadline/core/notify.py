"""Side effects done by the worker after commit: emails to owners and managers, the instant
auto-response to the lead, and webhooks. Each is its own job, so each is retried on its own."""

import hashlib
import hmac
import json
import urllib.request
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.core.serializers.json import DjangoJSONEncoder

from leadline.core.choices import Role
from leadline.core.jobs import handler
from leadline.core.models import AutoResponse, Job, Membership, Webhook

WEBHOOK_TIMEOUT = 5


def _lead_url(lead_id: int) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/leads/{lead_id}/"


@handler("notify_owner")
def notify_owner(job: Job, now: datetime) -> None:
    from leadline.leads.models import Lead

    lead = Lead.objects.select_related("owner").get(pk=job.lead_id)
    if not lead.owner or not lead.owner.email:
        return
    due = f"Respond by {lead.sla_due_at:%Y-%m-%d %H:%M} UTC.\n" if lead.sla_due_at else ""
    send_mail(
        f"New lead: {lead.display_name} ({lead.company or lead.source}) — score {lead.score}",
        f"{lead.display_name} <{lead.email}> is yours.\n{due}"
        f"Why you: {lead.routing_reason.get('explanation', '')}\n\n{_lead_url(lead.pk)}\n",
        None,
        [lead.owner.email],
    )


@handler("notify_rule")
def notify_rule(job: Job, now: datetime) -> None:
    from leadline.leads.models import Lead

    lead = Lead.objects.select_related("owner").get(pk=job.lead_id)
    if lead.owner and lead.owner.email:
        send_mail(
            f"Needs attention: {lead.display_name}",
            f"{job.payload.get('rule', 'A time rule')} flagged {lead.display_name} "
            f"({lead.status}).\n\n{_lead_url(lead.pk)}\n",
            None,
            [lead.owner.email],
        )


@handler("notify_breach")
def notify_breach(job: Job, now: datetime) -> None:
    from leadline.leads.models import Lead

    lead = Lead.objects.select_related("owner", "team").get(pk=job.lead_id)
    recipients = set()
    if lead.owner and lead.owner.email:
        recipients.add(lead.owner.email)
    if lead.team_id:
        recipients.update(
            Membership.objects.filter(team_id=lead.team_id, role=Role.MANAGER)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    Job.objects.bulk_create(
        Job(kind=kind, lead_id=lead.pk, run_at=now, created_at=now, payload=payload)
        for kind, payload in webhook_jobs("sla.breached")
    )
    if recipients:
        send_mail(
            f"SLA breached: {lead.display_name} has had no response",
            f"{lead.display_name} ({lead.company}) was due a first response by "
            f"{lead.sla_due_at:%Y-%m-%d %H:%M} UTC and has none.\nOwner: "
            f"{lead.owner or 'nobody'}\n\n{_lead_url(lead.pk)}\n",
            None,
            sorted(recipients),
        )


@handler("lead_captured")
def lead_captured(job: Job, now: datetime) -> None:
    """Fan a new lead out to its side effects, each a job of its own."""
    from leadline.leads.models import Lead
    from leadline.scoring.predict import predict_leads

    lead = Lead.objects.select_related("owner").get(pk=job.lead_id)
    predict_leads([lead], now)
    jobs = []
    if lead.owner_id:
        jobs.append(("notify_owner", {"owner": lead.owner_id}))
    if auto_response_for(lead):
        jobs.append(("auto_response", {}))
    jobs += webhook_jobs("lead.created")
    Job.objects.bulk_create(
        Job(
            kind=kind,
            lead_id=lead.pk,
            run_at=now,
            created_at=now,
            payload=payload,
            dedupe_key=f"{kind}:{lead.pk}:{payload.get('webhook', '')}:{job.pk}",
        )
        for kind, payload in jobs
    )


def after_assignment(lead, now: datetime) -> None:
    """A lead changed hands: tell the new owner, and the systems that listen."""
    jobs = [("notify_owner", {"owner": lead.owner_id})] if lead.owner_id else []
    Job.objects.bulk_create(
        Job(kind=kind, lead_id=lead.pk, run_at=now, created_at=now, payload=payload)
        for kind, payload in jobs + webhook_jobs("lead.assigned")
    )


def webhook_jobs(event: str) -> list[tuple[str, dict]]:
    return [
        ("webhook", {"webhook": hook.pk, "event": event})
        for hook in Webhook.objects.filter(is_active=True)
        if event in hook.events
    ]


def auto_response_for(lead) -> AutoResponse | None:
    if not lead.email or lead.do_not_email or lead.do_not_contact or lead.consent_email is False:
        return None
    responses = AutoResponse.objects.filter(is_active=True, source__in=[lead.source, ""])
    return min(responses, key=lambda r: r.source == "", default=None)


def _fill(template: str, values: dict) -> str:
    # Plain replacement of known placeholders: a template is data, never code.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


@handler("auto_response")
def auto_response(job: Job, now: datetime) -> None:
    from leadline.leads.actions import record
    from leadline.leads.models import Lead

    lead = Lead.objects.select_related("owner").get(pk=job.lead_id)
    response = auto_response_for(lead)
    if response is None:
        return
    owner = lead.owner
    values = {
        "first_name": lead.first_name or "there",
        "company": lead.company or "your company",
        "owner_name": (owner.get_full_name() or owner.get_username()) if owner else "our team",
        "owner_email": owner.email if owner else settings.DEFAULT_FROM_EMAIL,
    }
    message = EmailMessage(
        _fill(response.subject, values),
        _fill(response.body, values),
        None,
        [lead.email],
        reply_to=[owner.email] if owner and owner.email else None,
    )
    message.send()
    record(lead, "auto_response", f"Auto-response “{response.name}” sent to {lead.email}", now)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@handler("webhook")
def webhook(job: Job, now: datetime) -> None:
    from leadline.leads.models import Lead
    from leadline.leads.serialize import lead_dict

    hook = Webhook.objects.filter(pk=job.payload["webhook"], is_active=True).first()
    if hook is None:
        return
    lead = Lead.objects.select_related("owner", "team", "campaign").get(pk=job.lead_id)
    body = json.dumps(
        {
            "event": job.payload["event"],
            "at": now,
            "lead": lead_dict(lead),
            "url": _lead_url(lead.pk),
        },
        cls=DjangoJSONEncoder,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Leadline-Webhook/1",
        "X-Leadline-Event": job.payload["event"],
        "X-Leadline-Delivery": str(job.pk),
    }
    if hook.secret:
        headers["X-Leadline-Signature"] = sign(hook.secret, body)
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise RuntimeError(f"{hook.url} answered {response.status}")
