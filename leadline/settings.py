"""Leadline settings, read from environment variables through small typed helpers.

LEADLINE_DATA_DIR  where the SQLite database, the secret key and uploads live (default ./data)
DATABASE_URL       postgres://user@host:5432/db to use PostgreSQL instead of SQLite
LEADLINE_PG_PREPARE_THRESHOLD  runs before psycopg prepares a statement (default 5; 0: never)
LEADLINE_DEBUG     "1" to turn Django's debug pages on (off by default)
LEADLINE_ALLOWED_HOSTS  comma-separated host names (default: localhost,127.0.0.1,[::1])
LEADLINE_SECRET_KEY     overrides the key generated in the data directory
EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS / DEFAULT_FROM_EMAIL
"""

import os
import secrets
from pathlib import Path

import dj_database_url


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("LEADLINE_DATA_DIR", str(Path.cwd() / "data"))).resolve()


def _secret_key() -> str:
    if envstr("LEADLINE_SECRET_KEY"):
        return envstr("LEADLINE_SECRET_KEY")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Written once with owner-only permissions; later starts and other processes reuse it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("LEADLINE_DEBUG", False)
ALLOWED_HOSTS = envlist("LEADLINE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("LEADLINE_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "leadline.core",
    "leadline.deals",
    "leadline.leads",
    "leadline.routing",
    "leadline.scoring",
    "leadline.intake",
    "leadline.quality",
    "leadline.web",
]

# Sessions, CSRF, the logged-in user and messages are Django's own middleware, stepping aside
# for API requests that carry a bearer token (see leadline/api/middleware.py).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "leadline.api.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "leadline.api.middleware.BrowserCsrfViewMiddleware",
    "leadline.api.middleware.BrowserAuthenticationMiddleware",
    "leadline.api.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leadline.urls"
WSGI_APPLICATION = "leadline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadline.web.context.navigation",
            ]
        },
    }
]

DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Bind parameters on the server and let psycopg prepare a statement once it has run five
        # times, so PostgreSQL plans each of the capture's queries once per connection: planning
        # a query on the lead table (about twenty indexes) costs more than running it. Behind a
        # pooler in transaction mode that cannot keep prepared statements, set
        # LEADLINE_PG_PREPARE_THRESHOLD=0.
        prepare = envint("LEADLINE_PG_PREPARE_THRESHOLD", 5)
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=prepare or None
        )
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "leadline.sqlite3"),
            # Keep each thread's connection between requests: opening one costs more than a
            # capture's queries (connect, the PRAGMAs below, parsing the schema again).
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                # One writer at a time: take the write lock at BEGIN so a transaction never fails
                # half-way on an upgrade, wait for it instead of erroring, and use WAL so readers
                # never block the writer.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                # Each connection also keeps 32 MB of pages and maps up to 256 MB of the file: a
                # capture updates some twenty lead indexes; the default 2 MB cache re-reads them.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-32000;"
                    "PRAGMA mmap_size=268435456;"
                ),
            },
        }
    }
    if envstr("LEADLINE_TEST_SQLITE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": envstr("LEADLINE_TEST_SQLITE_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("LEADLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

EMAIL_HOST = envstr("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Leadline <leadline@localhost>")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # No mail server configured: notifications are written to the data directory, never lost.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")

SITE_URL = envstr("LEADLINE_SITE_URL", "http://localhost:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LEADLINE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Pipeline and worker knobs.
LEADLINE_BATCH_LIMIT = envint("LEADLINE_BATCH_LIMIT", 1000)
# An idle worker looks for due work this often (a read; a new lead's email waits at most this).
LEADLINE_WORKER_POLL_SECONDS = float(envstr("LEADLINE_WORKER_POLL_SECONDS", "0.1"))
# Instead, the capturing web process sends a new lead's owner email right after commit (the
# worker is the fallback): milliseconds sooner, but it costs each capture its own claim and
# bookkeeping transactions, where the worker batches them. Off unless set to 1.
LEADLINE_INSTANT_DISPATCH = envbool("LEADLINE_INSTANT_DISPATCH", False)
