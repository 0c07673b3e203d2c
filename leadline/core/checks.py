"""System checks: bad settings are reported at start with a clear message."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_settings(app_configs, **kwargs):
    problems = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith(("sqlite3", "postgresql")):
        problems.append(
            Error(
                f"DATABASE_URL points at an unsupported engine ({engine}).",
                hint="Use postgres://user:password@host:5432/name, or unset it for SQLite.",
                id="leadline.E001",
            )
        )
    if len(settings.SECRET_KEY) < 32:
        problems.append(
            Error(
                "LEADLINE_SECRET_KEY is shorter than 32 characters.",
                hint="Unset it to use the generated key in the data directory.",
                id="leadline.E002",
            )
        )
    try:
        ZoneInfo(settings.TIME_ZONE)
    except ZoneInfoNotFoundError:
        problems.append(Error(f"Unknown time zone {settings.TIME_ZONE}.", id="leadline.E003"))
    if settings.DEBUG:
        problems.append(
            Warning("LEADLINE_DEBUG is on: never run like this in production.", id="leadline.W001")
        )
    return problems
