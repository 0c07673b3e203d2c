"""A bare Django project: no middleware, one app, one table.

The database settings are Leadline's own (same SQLite pragmas and transaction mode, same
PostgreSQL connection reuse), read from the same environment variables, so the floor and
Leadline differ only in what a request does.
"""

from leadline import settings as leadline_settings

SECRET_KEY = leadline_settings.SECRET_KEY
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bench.floor"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor.urls"
DATABASES = leadline_settings.DATABASES
USE_TZ = True
TIME_ZONE = "UTC"
LOGGING = leadline_settings.LOGGING
