"""The `leadline` command: a thin front door to Django's management commands.

Every subcommand (serve, worker, demo, createuser, capture, leads, token, import, ...) is a
management command under `leadline/*/management/commands/`, so the web, API, CLI and worker all
call the same domain functions.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadline.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["help"]
    execute_from_command_line(["leadline", *args])
