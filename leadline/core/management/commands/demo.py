from django.core.management import call_command
from django.core.management.base import BaseCommand

from leadline.core.demo import build


class Command(BaseCommand):
    help = "Create (or complete) a realistic demo workspace; running it twice adds nothing."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=300)

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        build(opts["leads"], out=self.stdout.write)
