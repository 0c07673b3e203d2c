import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leadline.core.checks import check_settings
from leadline.core.errors import DomainError
from leadline.intake import imports
from leadline.intake.models import Import, ImportKind


class Command(BaseCommand):
    help = (
        "Import leads (or engagement events) from a CSV or XLSX file through the capture "
        "pipeline. Run it again on the same file to resume an interrupted import; a finished "
        "one is not imported twice."
    )
    # Django's full system checks (every model, URL and template: 2 seconds of CPU) find
    # nothing an import needs; the settings checks, which do, run in handle().
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument(
            "--mapping",
            help='column mapping: JSON ({"Work Email": "email", "Notes": "custom"}), a JSON '
            "file, or the name of a saved mapping; columns not named are mapped automatically",
        )
        parser.add_argument("--save-mapping", metavar="NAME", help="save the mapping for reuse")
        parser.add_argument("--source", help="source of the leads (default: import)")
        parser.add_argument("--campaign", help="campaign name or id (created if new)")
        parser.add_argument("--cost", help="what the list cost: added to the campaign's cost")
        parser.add_argument("--dry-run", action="store_true", help="check and count; store nothing")
        parser.add_argument("--report", metavar="PATH", help="write the per-row report (CSV)")
        parser.add_argument("--events", action="store_true", help="the file holds events")
        parser.add_argument("--event-kind", help="event type for rows without one")
        parser.add_argument("--as", dest="actor", help="username recorded as the importer")
        parser.add_argument("--batch-size", type=int, default=imports.BATCH_SIZE)
        parser.add_argument(
            "--undo",
            metavar="IMPORT_ID",
            type=int,
            help="undo an import: remove the leads it created that nobody has worked since",
        )

    def handle(self, *args, **opts):
        self.verbosity = opts["verbosity"]
        self._check_settings()
        actor = None
        if opts["actor"]:
            actor = get_user_model().objects.filter(username=opts["actor"]).first()
            if actor is None:
                raise CommandError(f"no user {opts['actor']!r}")
        if opts["undo"] is not None:
            return self._undo(opts["undo"], actor)
        if not opts["file"]:
            raise CommandError("name the FILE to import (or --undo IMPORT_ID)")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        kind = ImportKind.EVENTS if opts["events"] else ImportKind.LEADS
        try:
            imp = imports.open_import(path, kind=kind, user=actor)
            if imp.status == Import.Status.DONE:
                self.stdout.write(
                    f"Already imported (import {imp.pk}, {imp.finished_at:%Y-%m-%d %H:%M} UTC): "
                    f"{imports.summary(imp.counts)}. Nothing new to do."
                )
                self._report(imp, "commit", opts["report"])
                return
            mapping = opts["mapping"] or None
            if mapping and not mapping.lstrip().startswith("{") and Path(mapping).is_file():
                mapping = Path(mapping).read_text(encoding="utf-8-sig")  # a JSON file
            if imp.phase != "commit":
                imports.configure(
                    imp,
                    mapping=mapping,
                    source=opts["source"],
                    campaign=opts["campaign"],
                    cost=opts["cost"],
                    event_kind=opts["event_kind"],
                    save_as=opts["save_mapping"] or "",
                    user=actor,
                )
            elif imp.rows_done:
                self.stdout.write(f"Resuming import {imp.pk} after {imp.rows_done:,} rows.")
            self._show_mapping(imp)
            phase = "dry_run" if opts["dry_run"] else "commit"
            self._total = imp.rows_total
            imp = imports.run_to_end(
                imp,
                phase,
                claimant=imports.claimant_id("cli"),
                batch_size=max(1, opts["batch_size"]),
                progress=self._progress,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if self.verbosity >= 1 and self.stderr.isatty():
            self.stderr.write("")  # end the progress bar's line
        counts = imp.dry_counts if phase == "dry_run" else imp.counts
        verb = "Dry run (nothing stored)" if phase == "dry_run" else "Imported"
        self.stdout.write(f"{verb}: {imp.rows_done:,} rows: {imports.summary(counts)}.")
        self._report(imp, phase, opts["report"])

    def _check_settings(self) -> None:
        for problem in check_settings(None):
            if problem.is_serious():
                raise CommandError(str(problem))
            if self.verbosity >= 1:
                self.stderr.write(str(problem))

    def _undo(self, pk: int, actor) -> None:
        imp = Import.objects.filter(pk=pk).first()
        if imp is None:
            raise CommandError(f"no import {pk}")
        try:
            imp = imports.start_undo(imp, actor)
            while imports.run_undo(imp, claimant=imports.claimant_id("cli-undo")):
                pass
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        imp.refresh_from_db()
        self.stdout.write(f"Undone: import {imp.pk} ({imp.filename}): {imports.undo_summary(imp)}")

    def _report(self, imp: Import, phase: str, path: str | None) -> None:
        if path:
            with open(path, "w", newline="", encoding="utf-8") as out:
                lines = imports.write_report(imp, out, phase)
            self.stdout.write(f"Report: {lines:,} rows written to {path}.")

    def _show_mapping(self, imp: Import) -> None:
        if self.verbosity < 1:
            return
        self.stdout.write(
            f"{imp.filename}: {imp.format.upper()}"
            + (f", {imp.encoding}, delimiter {imp.delimiter!r}" if imp.format == "csv" else "")
        )
        for header, target in zip(imp.headers, imp.mapping, strict=False):
            if header:
                self.stdout.write(f"  {header[:40]:<40} → {target or '(ignored)'}")

    def _progress(self, done: int, counts: dict) -> None:
        """A bar redrawn in place on a terminal; a line every 100,000 rows in a log."""
        if self.verbosity < 1:
            return
        now = time.monotonic()
        if not hasattr(self, "_started"):
            self._started, self._shown, self._first_done = now, 0.0, done
        tty = self.stderr.isatty()
        if self.verbosity < 2 and not tty and done // 100_000 == self._shown:
            return
        if tty and self.verbosity < 2 and now - self._shown < 0.2:
            return
        self._shown = now if tty else done // 100_000
        elapsed = max(now - self._started, 1e-6)
        rate = (done - self._first_done) / elapsed
        total = self._total or 0
        line = f"{done:,} rows"
        if total and done <= total:
            share = done / total
            bar = "#" * int(share * 30)
            line = f"[{bar:<30}] {share:4.0%} {done:,} of about {total:,} rows"
            if rate > 0:
                line += f", {rate:,.0f} rows/s, about {_duration((total - done) / rate)} left"
        elif rate > 0:
            line += f", {rate:,.0f} rows/s"
        if tty:
            self.stderr.write(f"\r  {line} ", ending="")
            self.stderr.flush()
        else:
            self.stderr.write(f"  {line}: {imports.summary(counts)}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
