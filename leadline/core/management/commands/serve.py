import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

DEFAULT_THREADS = 4


def default_workers() -> int:
    return min(8, 2 * (os.cpu_count() or 1))


def web_server(application, *, host: str, port: int, workers: int, threads: int, **hooks):
    """The gunicorn server `leadline serve` runs (bench/floor starts the same one)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", os.environ.get("LEADLINE_ACCESS_LOG") or None)
            self.cfg.set("graceful_timeout", 10)
            for name, hook in hooks.items():
                self.cfg.set(name, hook)

        def load(self):
            return application

    return Server()


def warm_up() -> None:
    """Import, once in the parent, what every web process would otherwise import on its first
    requests (every URL's views and the API, the job handlers, the predictive model's
    libraries): the forked processes share it, start serving at once, and never spend seconds
    of CPU importing scikit-learn in the middle of a burst of captures."""
    from django.urls import get_resolver

    import leadline.core.worker  # noqa: F401  (job handlers, used by instant dispatch)
    import leadline.scoring.model  # noqa: F401  (numpy, scikit-learn)

    get_resolver().url_patterns  # noqa: B018  (imports every URL module)


class Command(BaseCommand):
    help = "Apply migrations and serve the web UI and API (gunicorn), with the background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("LEADLINE_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("LEADLINE_PORT", 8000)))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("LEADLINE_WEB_WORKERS", 0)) or None,
            help="web processes (default: 2 per CPU core, at most 8)",
        )
        parser.add_argument(
            "--threads", type=int, default=DEFAULT_THREADS, help="threads per web process"
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not run the background worker alongside the web server",
        )

    def handle(self, *args, **opts):
        from leadline.wsgi import application

        call_command("migrate", interactive=False, verbosity=0)
        warm_up()
        # Web processes are forked from this one: none may inherit its database connection.
        connections.close_all()
        workers = opts["workers"] or default_workers()
        worker_proc: dict = {}

        def start_worker(arbiter):
            # The background loop runs in its own process beside the web processes: forking web
            # workers from a process that also runs a thread is unsafe, and a separate process
            # keeps a slow job from ever stalling a request.
            if not opts["no_worker"]:
                worker_proc["p"] = subprocess.Popen([sys.executable, "-m", "leadline", "worker"])

        def stop_worker(arbiter):
            proc = worker_proc.get("p")
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)

        self.stdout.write(
            f"Leadline on http://{opts['host']}:{opts['port']}/ "
            f"({workers} web processes"
            f"{'' if opts['no_worker'] else ' + background worker'})"
        )
        self.stdout.flush()
        web_server(
            application,
            host=opts["host"],
            port=opts["port"],
            workers=workers,
            threads=opts["threads"],
            when_ready=start_worker,
            on_exit=stop_worker,
        ).run()
