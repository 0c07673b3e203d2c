import csv
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from leadline.core.csvsafe import safe_cell
from leadline.core.errors import DomainError
from leadline.leads.models import Lead
from leadline.leads.queries import FILTERS, filter_leads
from leadline.leads.serialize import lead_dict

COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "email",
    "company",
    "status",
    "stage",
    "score",
    "owner",
    "team",
    "source",
    "campaign",
    "sla_due_at",
    "created_at",
]


class Command(BaseCommand):
    help = "List leads with the same filters as the API (table, JSON lines or CSV)."

    def add_arguments(self, parser):
        for name in FILTERS:
            parser.add_argument("--" + name.replace("_", "-"), dest=name)
        parser.add_argument("--as", dest="actor", help="only what this user may see")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args, **opts):
        qs = Lead.objects.live()
        user = None
        if opts["actor"]:
            user = get_user_model().objects.filter(username=opts["actor"]).first()
            if user is None:
                raise CommandError(f"no user {opts['actor']!r}")
            qs = Lead.objects.visible_to(user)
        try:
            qs = filter_leads(qs, {k: opts.get(k) for k in FILTERS}, user)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        leads = qs.select_related("owner", "team", "campaign").order_by("-id")[: opts["limit"]]
        rows = [lead_dict(lead) for lead in leads]
        if opts["format"] == "json":
            for row in rows:
                self.stdout.write(json.dumps(row, cls=DjangoJSONEncoder))
        elif opts["format"] == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([safe_cell(row[c]) for c in COLUMNS])
        else:
            self.stdout.write(
                f"{'ID':>6}  {'NAME':<24} {'COMPANY':<22} {'STATUS':<12} {'SCORE':>5}  OWNER"
            )
            for r in rows:
                name = f"{r['first_name']} {r['last_name']}".strip() or r["email"]
                self.stdout.write(
                    f"{r['id']:>6}  {name[:24]:<24} {r['company'][:22]:<22} "
                    f"{r['status']:<12} {r['score']:>5}  {r['owner'] or '-'}"
                )
