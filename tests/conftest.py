"""Shared fixtures: a frozen clock, a real SMTP server on loopback, and a small workspace with an
owner, a teammate and an outsider (another team), built inline so each test shows what it uses."""

import email
import email.policy
import os
import shutil
import socket
import threading
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from leadline.core.clock import clock

# A Monday, 10:00 in New York (15:00 UTC): inside business hours for the default test team.
CURRENT_TIME = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness is for attackers, not for a test suite's fixtures.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set(CURRENT_TIME)
    yield clock
    clock.reset()


class Inbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                {
                    "to": list(envelope.rcpt_tos),
                    "subject": " ".join(str(message["subject"]).split()),
                    "body": message.get_body(("plain",)).get_content(),
                }
            )
        return "250 OK"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1; Django sends to it over a socket."""
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd's readiness check needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    yield inbox
    controller.stop()


@pytest.fixture
def workspace(db):
    """Two teams: Americas (default, New York hours) with a manager and two reps; EMEA with one
    rep (the outsider). Europe goes to EMEA by rule."""
    from django.contrib.auth import get_user_model

    from leadline.core.models import Membership, Team
    from leadline.routing.models import RoutingRule

    User = get_user_model()
    americas = Team.objects.create(
        name="Americas", slug="americas", timezone="America/New_York", is_default=True
    )
    emea = Team.objects.create(name="EMEA", slug="emea", timezone="Europe/London")
    users = {}
    for name, team, role in [
        ("maria", americas, "manager"),
        ("jordan", americas, "rep"),
        ("riley", americas, "rep"),
        ("alex", emea, "rep"),
    ]:
        users[name] = User.objects.create_user(name, f"{name}@example.com", "correct-horse-1")
        Membership.objects.create(user=users[name], team=team, role=role)
    RoutingRule.objects.create(
        name="Europe",
        order=1,
        team=emea,
        conditions=[{"field": "country", "op": "in", "value": ["GB", "DE", "FR"]}],
    )

    class W:
        pass

    w = W()
    w.americas, w.emea = americas, emea
    w.manager, w.owner, w.teammate, w.outsider = (
        users["maria"],
        users["jordan"],
        users["riley"],
        users["alex"],
    )
    return w


# Browser tests: Debian's chromium, and the seeded rows a live server's flush would wipe.


@pytest.fixture(scope="module")
def leave_the_database_as_found(django_db_setup, django_db_blocker):
    """live_server needs a transactional test, whose teardown empties every table, including the
    reason codes and scoring rules the migrations seed. Tests that run after this one expect
    them, so the rows of Leadline's own tables are put back once the module is done (a module
    fixture tears down after the test's flush)."""
    from django.apps import apps
    from django.core import serializers
    from django.db import connection, transaction

    with django_db_blocker.unblock():
        tables = set(connection.introspection.table_names())
        models = [
            model
            for model in apps.get_models()
            if model._meta.app_config.name.startswith("leadline.")
            and model._meta.managed
            and model._meta.db_table in tables
        ]
        rows = [serializers.serialize("json", model._default_manager.all()) for model in models]
    yield
    with django_db_blocker.unblock(), transaction.atomic():
        for model, dump in zip(models, rows, strict=True):
            if not model._default_manager.exists():
                for obj in serializers.deserialize("json", dump):
                    obj.save()


@pytest.fixture
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("LEADLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and LEADLINE_REQUIRE_BROWSER=1 requires the browser test")
        pytest.skip(message + "; set LEADLINE_REQUIRE_BROWSER=1 to fail instead")
    return executable


def at_once(n: int, work) -> list:
    """Run work(i) for i in range(n) in n threads released together (each with its own database
    connection, closed after); returns what each returned, in order, and fails the test with
    the first exception any of them raised."""
    from django.db import connections

    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results
