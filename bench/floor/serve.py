"""Serve the floor with the gunicorn server `leadline serve` uses (same workers and threads).

python -m bench.floor.serve --port 8200 [--workers N] [--threads N]
"""

import argparse
import os


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    from leadline.core.management.commands.serve import (
        DEFAULT_THREADS,
        default_workers,
        web_server,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    args = parser.parse_args()
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    connections.close_all()
    web_server(
        get_wsgi_application(),
        host=args.host,
        port=args.port,
        workers=args.workers or default_workers(),
        threads=args.threads,
    ).run()


if __name__ == "__main__":
    main()
