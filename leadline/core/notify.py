"""Side effects done by the worker after commit: emails to owners and managers, the instant
auto-response to the lead, and webhooks. Each is its own job, so each is retried on its own."""

import hashlib
import hmac
import json
import urllib.request
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from leadline.core.choices import Role
from leadline.core.jobs import handler
from leadline.core.models import AutoResponse, Job, Membership, Webhook
from leadline.core.prepared import Prepared
from leadline.core.writes import write_turn
from leadline.leads.models import Lead

WEBHOOK_TIMEOUT = 5


def _lead_url(lead_id: int) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/leads/{lead_id}/"


def _owner_message(lead) -> EmailMessage | None:
    if not lead.owner or not lead.owner.email:
        return None
    due = f"Respond by {lead.sla_due_at:%Y-%m-%d %H:%M} UTC.\n" if lead.sla_due_at else ""
    # An ASCII subject unless the lead's own words are not: a non-ASCII header is
    # quoted-printable encoded by Python's email package in time quadratic in its length
    # (0.13 ms of the worker's ~0.7 ms a lead for one em dash).
    return EmailMessage(
        f"New lead: {lead.display_name} ({lead.company or lead.source}), score {lead.score}",
        f"{lead.display_name} <{lead.email}> is yours.\n{due}"
        f"Why you: {lead.routing_reason.get('explanation', '')}\n\n{_lead_url(lead.pk)}\n",
        None,
        [lead.owner.email],
    )


def send_each(messages: dict) -> dict:
    """Send {key: EmailMessage} over one SMTP connection; returns {key: exception} for the
    messages that failed (a failure to connect fails them all)."""
    if not messages:
        return {}
    failures: dict = {}
    try:
        with get_connection() as smtp:
            for key, message in messages.items():
                message.connection = smtp
                try:
                    message.send()
                except Exception as exc:  # noqa: BLE001 — this message is retried on its own
                    failures[key] = exc
    except Exception as exc:  # noqa: BLE001 — could not connect (or close): all are retried
        return {key: failures.get(key, exc) for key in messages}
    return failures


def _notify_owners(leads: list, now: datetime) -> dict:
    """Email each lead's owner that the lead is theirs; returns {lead id: exception}."""
    messages = {}
    for lead in leads:
        message = _owner_message(lead)
        if message is not None:
            messages[lead.pk] = message
    return send_each(messages)


# The batch handlers read the columns they use and no more (a lead's other JSON and date
# columns cost more to convert than the handler's own work), through queries compiled once:
# the id list is padded to the next of a few sizes by repeating an id.
SIZES = (1, 2, 4, 8, 16, 32, 64, 128)


def _by_id(query: Prepared, ids) -> dict:
    ids = sorted({pk for pk in ids if pk is not None})
    if not ids:
        return {}
    size = next((n for n in SIZES if n >= len(ids)), len(ids))
    return {lead.pk: lead for lead in query(ids + ids[-1:] * (size - len(ids)))}


_owner_leads = Prepared(
    lambda ids: (
        Lead.objects.select_related("owner")
        .only(
            "first_name",
            "last_name",
            "email",
            "company",
            "source",
            "score",
            "sla_due_at",
            "routing_reason",
            "owner__email",
        )
        .filter(pk__in=ids)
    ),
    Lead._meta.pk,
)
# What prediction, the MQL arrival and the auto-response check read.
_captured_leads = Prepared(
    lambda ids: (
        Lead.objects.select_related("team")
        .only(
            "capture_snapshot",
            "email",
            "do_not_email",
            "do_not_contact",
            "consent_email",
            "source",
            "status",
            "merged_into",
            "score",
            "team__mql_threshold",
        )
        .filter(pk__in=ids)
    ),
    Lead._meta.pk,
)
_active_webhooks = Prepared(lambda: Webhook.objects.filter(is_active=True))
_active_responses = Prepared(lambda: AutoResponse.objects.filter(is_active=True))


@handler("notify_owner", batch=True)
def notify_owner(jobs: list[Job], now: datetime) -> dict:
    """Tell owners their new (or newly assigned) leads are theirs; one SMTP connection for the
    batch, and each failed email retried on its own."""
    leads = _by_id(_owner_leads, [job.lead_id for job in jobs])
    failed = _notify_owners(list(leads.values()), now)
    failures = {}
    for job in jobs:
        if job.lead_id not in leads:
            failures[job.pk] = LookupError(f"lead {job.lead_id} not found")
        elif job.lead_id in failed:
            failures[job.pk] = failed[job.lead_id]
    return failures


@handler("notify_rule")
def notify_rule(job: Job, now: datetime) -> None:

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


@handler("lead_captured", batch=True)
def lead_captured(jobs: list[Job], now: datetime) -> dict:
    """A batch of new leads (their owners' emails are jobs of their own, sent at once): predict
    them in one call, record those that arrive over the MQL line, and queue their
    auto-responses and webhooks as jobs of their own."""
    from leadline.scoring import mql
    from leadline.scoring.predict import predict_leads

    leads = _by_id(_captured_leads, [job.lead_id for job in jobs])
    hooks = webhook_jobs("lead.created")
    responses = _active_responses()
    new_jobs = []
    for job in jobs:
        lead = leads.get(job.lead_id)
        if lead is None:
            continue
        follow = [("auto_response", {})] if _auto_response(lead, responses) else []
        for kind, payload in follow + hooks:
            new_jobs.append(follow_up(job, kind, payload, now))
    with write_turn(), transaction.atomic():
        predict_leads(list(leads.values()), now)
        mql.arrived(list(leads.values()), now)
        Job.objects.bulk_create(new_jobs, ignore_conflicts=True)
    return {}


def follow_up(job: Job, kind: str, payload: dict, now: datetime) -> Job:
    """A job another job starts (a webhook, an auto-response), made once per starting job."""
    return Job(
        kind=kind,
        lead_id=job.lead_id,
        run_at=now,
        created_at=now,
        payload=payload,
        dedupe_key=f"{kind}:{job.lead_id}:{payload.get('webhook', '')}:{job.pk}",
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
        for hook in _active_webhooks()
        if event in hook.events
    ]


def auto_response_for(lead) -> AutoResponse | None:
    return _auto_response(lead, _active_responses())


def _auto_response(lead, responses) -> AutoResponse | None:
    """The active response for the lead's source (else the catch-all), if it may be emailed."""
    if not lead.email or lead.do_not_email or lead.do_not_contact or lead.consent_email is False:
        return None
    fitting = [r for r in responses if r.source in (lead.source, "")]
    return min(fitting, key=lambda r: r.source == "", default=None)


def _fill(template: str, values: dict) -> str:
    # Plain replacement of known placeholders: a template is data, never code.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


@handler("auto_response")
def auto_response(job: Job, now: datetime) -> None:
    from leadline.leads.actions import record

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
