import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leadline.core.errors import DomainError
from leadline.intake.pipeline import capture_batch

CHUNK = 1000


def read_leads(path: Path) -> list:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(text)
    if stripped.startswith("{") and "\n{" not in stripped.strip():
        return [json.loads(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Command(BaseCommand):
    help = "Capture leads from a JSON (object or array) or JSONL file through the pipeline."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", help="source for leads that do not name one")
        parser.add_argument("--campaign", help="campaign for leads that do not name one")
        parser.add_argument("--as", dest="actor", help="username recorded as the capturer")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        try:
            items = read_leads(path)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}: not JSON or JSONL ({exc})") from None
        actor = None
        if opts["actor"]:
            actor = get_user_model().objects.filter(username=opts["actor"]).first()
            if actor is None:
                raise CommandError(f"no user {opts['actor']!r}")
        defaults = {k: opts[k] for k in ("source", "campaign") if opts[k]}
        counts = {"created": 0, "matched": 0, "replayed": 0, "invalid": 0}
        for start in range(0, len(items), CHUNK):
            chunk = [
                {**defaults, **item} if isinstance(item, dict) else item
                for item in items[start : start + CHUNK]
            ]
            for offset, result in enumerate(capture_batch(chunk, channel="cli", actor=actor)):
                if isinstance(result, DomainError):
                    counts["invalid"] += 1
                    self.stderr.write(f"item {start + offset + 1}: {result}")
                else:
                    counts[result.outcome] += 1
        self.stdout.write(", ".join(f"{v} {k}" for k, v in counts.items()))
        if counts["invalid"]:
            raise SystemExit(1)
