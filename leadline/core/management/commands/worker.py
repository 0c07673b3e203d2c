import signal
import threading

from django.core.management.base import BaseCommand

from leadline.core.worker import run_forever, run_until_idle


class Command(BaseCommand):
    help = "Run the background loop (due work: notifications, SLA breaches, recycling)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="do what is due now, then exit")
        parser.add_argument("--poll", type=float, default=None, help="seconds between rounds")

    def handle(self, *args, **opts):
        if opts["once"]:
            run_until_idle()
            return
        stop = threading.Event()
        # SIGTERM/SIGINT finish the current unit of work, then exit cleanly.
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        run_forever(stop, opts["poll"])
