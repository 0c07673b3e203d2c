import json

from django.core.management.base import BaseCommand, CommandError

from leadline.scoring import predict


class Command(BaseCommand):
    help = (
        "Predictive scoring: `train` on the team's outcomes, `status` of the current model, "
        "`evaluate FILE.csv --target COL` on any exported history."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["train", "status", "evaluate"])
        parser.add_argument("rest", nargs="*", help="for evaluate: FILE.csv and its options")

    def run_from_argv(self, argv):
        # `evaluate` has options of its own (--target, --exclude, --time-column): hand them over.
        if len(argv) > 2 and argv[2] == "evaluate":
            from leadline.scoring.evaluate import main

            raise SystemExit(main(argv[3:]))
        super().run_from_argv(argv)

    def handle(self, *args, **opts):
        if opts["action"] == "evaluate":
            raise CommandError("usage: leadline scoring evaluate FILE.csv --target COLUMN")
        if opts["action"] == "train":
            result = predict.train(note="leadline scoring train")
        else:
            live = predict.current()
            result = (
                {"status": "rules", "reason": "no model trained yet"}
                if live is None
                else {
                    "version": live.version,
                    "created_at": live.created_at.isoformat(),
                    "trained_on": live.trained_on,
                    "positives": live.positives,
                    "backtest": live.metrics.get("backtest"),
                    "cross_validation_mean": live.metrics.get("cross_validation", {}).get("mean"),
                    "leakage": live.leakage,
                }
            )
        self.stdout.write(json.dumps(result, indent=2, default=str))
