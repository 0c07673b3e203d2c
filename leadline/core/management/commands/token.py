from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leadline.core.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="CLI token")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        _token, raw = ApiToken.issue(user, opts["name"])
        self.stdout.write(raw)
