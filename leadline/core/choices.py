"""Named choice sets: statuses, stages, roles, sources, activity kinds."""

from django.db import models


class Status(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    QUALIFIED = "qualified", "Qualified"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"
    CONVERTED = "converted", "Converted"


OPEN_STATUSES = (Status.NEW, Status.WORKING, Status.QUALIFIED, Status.NURTURE)

# The lifecycle of DESIGN.md: every other move is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.NEW: (Status.WORKING, Status.NURTURE, Status.DISQUALIFIED),
    Status.WORKING: (Status.QUALIFIED, Status.NURTURE, Status.DISQUALIFIED),
    Status.QUALIFIED: (Status.CONVERTED, Status.NURTURE, Status.DISQUALIFIED),
    Status.NURTURE: (Status.WORKING, Status.DISQUALIFIED),
    Status.DISQUALIFIED: (Status.NEW,),
    Status.CONVERTED: (),
}

# Moves that return a closed or nurtured lead to the queue, counted as a recycle.
RECYCLE_MOVES = {(Status.DISQUALIFIED, Status.NEW), (Status.NURTURE, Status.WORKING)}


class Stage(models.TextChoices):
    SUSPECT = "suspect", "Suspect"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REP = "rep", "Rep"
    MARKETER = "marketer", "Marketer"


class Source(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    DEMO_REQUEST = "demo_request", "Demo request"
    API = "api", "API"
    IMPORT = "import", "Import"
    LIST_PURCHASE = "list_purchase", "Purchased list"
    WEBINAR = "webinar", "Webinar"
    CONTENT = "content", "Content download"
    EVENT = "event", "Event / trade show"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    INBOUND_CALL = "inbound_call", "Inbound call"
    OTHER = "other", "Other"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"


# Sales touches that count as a first response (a note does not reach the lead).
RESPONSE_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING)


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
