from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Find duplicate leads. `leadline dedupe FILE.csv --out OUT.csv` writes each row's cluster "
        "and match probability; `leadline dedupe --db` matches the stored leads, refreshes their "
        "blocking keys and fills the review queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="lead CSV (id, first_name, last_name, ...)")
        parser.add_argument("--out", help="where to write id,cluster_id,... rows (with FILE)")
        parser.add_argument("--threshold", type=float, help="probability to link two records")
        parser.add_argument("--review", type=float, help="lowest probability worth a review")
        parser.add_argument("--auto-merge", type=float, help="probability for automatic merging")
        parser.add_argument("--model", help="use a saved model (JSON) instead of estimating one")
        parser.add_argument("--save-model", help="write the estimated model as JSON")
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument("--db", action="store_true", help="match the stored leads")
        parser.add_argument(
            "--estimate",
            action="store_true",
            default=None,
            help="with --db: estimate a new match model from the stored leads (default: when "
            "there are enough of them)",
        )
        parser.add_argument(
            "--no-estimate", dest="estimate", action="store_false", help="keep the current model"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="with --db: count, write nothing"
        )

    def handle(self, *args, **options):
        if options["db"]:
            if options["file"]:
                raise CommandError("give either a FILE or --db, not both")
            return self._database(options)
        if not options["file"] or not options["out"]:
            raise CommandError("give a lead CSV and --out OUT.csv, or --db for the stored leads")
        from leadline.quality.matching.dedupe import main

        argv = [options["file"], "--out", options["out"]]
        for name in ("threshold", "review", "auto_merge", "model", "save_model"):
            if options[name] is not None:
                argv += [f"--{name.replace('_', '-')}", str(options[name])]
        if options["quiet"]:
            argv.append("--quiet")
        if main(argv):
            raise CommandError("dedupe failed")

    def _database(self, options):
        from leadline.quality.duplicates import scan_database

        def say(message: str) -> None:
            if not options["quiet"]:
                self.stderr.write(message)

        result = scan_database(
            estimate=options["estimate"], dry_run=options["dry_run"], progress=say
        )
        model = f"model #{result.model_version}" if result.model_version else "the built-in model"
        verb = "would open" if options["dry_run"] else "opened"
        self.stdout.write(
            f"{result.leads} leads, {result.pairs_scored} pairs compared with {model}; "
            f"{verb} {result.new_candidates} review candidates, "
            f"updated {result.updated_candidates}; {result.keys} blocking keys"
        )
