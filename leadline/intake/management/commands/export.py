import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leadline.core.errors import DomainError
from leadline.intake import exports
from leadline.leads.models import Lead
from leadline.leads.queries import FILTERS, filter_leads


class Command(BaseCommand):
    help = "Export leads with the lead list's filters to CSV or XLSX (formula-safe)."

    def add_arguments(self, parser):
        for name in FILTERS:
            parser.add_argument("--" + name.replace("_", "-"), dest=name)
        parser.add_argument("--as", dest="actor", help="only what this user may see")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--out", help="file to write (default: standard output, CSV only)")

    def handle(self, *args, **opts):
        qs, user = Lead.objects.live(), None
        if opts["actor"]:
            user = get_user_model().objects.filter(username=opts["actor"]).first()
            if user is None:
                raise CommandError(f"no user {opts['actor']!r}")
            qs = Lead.objects.visible_to(user)
        try:
            qs = filter_leads(qs, {k: opts.get(k) for k in FILTERS}, user)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if opts["format"] == "xlsx":
            if not opts["out"]:
                raise CommandError("--format xlsx needs --out FILE.xlsx")
            exports.write_xlsx(qs, opts["out"])
            return
        out = open(opts["out"], "w", newline="", encoding="utf-8") if opts["out"] else sys.stdout
        try:
            for line in exports.csv_lines(qs):
                out.write(line)
        finally:
            if out is not sys.stdout:
                out.close()
