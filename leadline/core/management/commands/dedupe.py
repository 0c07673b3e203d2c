from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Find duplicates in a lead CSV: `leadline dedupe FILE.csv --out OUT.csv [--threshold P]` "
        "writes each row's cluster and match probability."
    )

    def run_from_argv(self, argv):
        # The matcher's CLI has its own options; hand everything after `dedupe` to it.
        from leadline.quality.matching.dedupe import main

        raise SystemExit(main(argv[2:]))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv handles every call
        pass
