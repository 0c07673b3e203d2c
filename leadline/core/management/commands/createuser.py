import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from leadline.core.choices import Role
from leadline.core.models import Membership, Team


class Command(BaseCommand):
    help = "Create a user, optionally as a member of a team with a role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--team", help="team name or slug (created if missing)")
        parser.add_argument("--role", choices=Role.values, default=Role.REP)
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )

    @transaction.atomic
    def handle(self, *args, **opts):
        User = get_user_model()
        if User.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"user {opts['username']!r} already exists")
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
        try:
            validate_password(password, User(username=opts["username"], email=opts["email"]))
        except ValidationError as exc:
            raise CommandError("password: " + " ".join(exc.messages)) from None
        user = User.objects.create_user(
            opts["username"],
            opts["email"],
            password,
            is_superuser=opts["superuser"],
            is_staff=opts["superuser"],
        )
        if opts["team"]:
            slug = slugify(opts["team"])
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": opts["team"]})
            Membership.objects.create(user=user, team=team, role=opts["role"])
            self.stdout.write(f"Created {user} ({opts['role']} in {team}).")
        else:
            self.stdout.write(f"Created {user}.")
