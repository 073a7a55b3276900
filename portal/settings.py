"""Settings of the back-up portal.

Every deploy-time choice is read from the environment through the small typed helpers below. With no variable set,
everything runs on the embedded defaults: SQLite for the portal and for online administrations, the Django ORM as the
django-q2 broker and the filesystem for back-up files.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """A string from the environment; `NAME_FILE` (a path) wins, so secrets can come from mounted files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no setting; a value that is neither (say "ture") stops the start instead of reading as "no"."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on", "ja"}:
        return True
    if word in {"0", "false", "no", "off", "nee"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is geen ja/nee-waarde: gebruik true of false (of 1/0, yes/no, on/off)."
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_decimal(name: str, default: str) -> Decimal:
    return Decimal(os.environ.get(name) or default)


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


DEBUG = env_bool("DEBUG", default=False)
# The fallback key is only good for a laptop demo; production sets SECRET_KEY (or SECRET_KEY_FILE). Running on it
# with DEBUG off is a system-check error (portal.E001, portal/checks.py).
DEMO_SECRET_KEY = "insecure-demo-key-change-me-" + "x" * 24
SECRET_KEY = env_str("SECRET_KEY", DEMO_SECRET_KEY)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

DATA_DIR = env_path("PORTAL_DATA_DIR", BASE_DIR / "data")

INSTALLED_APPS = [
    # The Django admin on the portal's own site: staff need a second factor there (portal/admin_site.py).
    "portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "csp",
    "django_otp",
    "portal.apps.TOTPConfig",
    "portal.apps.StaticConfig",
    # In INSTALLED_APPS so the API documentation page serves Swagger UI from our own static files (no CDN).
    "ninja",
    "portal",
    "administrations",
    "backups",
    "aftercare",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (after collectstatic) when the portal runs under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.DutchFirstLocaleMiddleware",
    "api.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# The portal's own database. SQLite in the data folder by default; PostgreSQL (postgres://…) or SQL Server
# (mssql://…, through mssql-django) when DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name from one address,
# that pair is locked out for AXES_COOLOFF_MINUTES; a successful sign-in or password reset starts the count again.
# The address is REMOTE_ADDR, as in the audit trail (behind a proxy, the proxy sets it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.views.locked_out"
AXES_VERBOSE = False

# E-mail (password reset): printed on the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Back-upportaal <noreply@localhost>")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600)

LOGIN_URL = "login"
# Staff sign in to the admin (/beheer/) with a password and a second factor (an authenticator app, or a recovery
# code). Only the demo turns this off (`make demo`); never in production.
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=True)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Back-upportaal")
LOGIN_REDIRECT_URL = "administrations:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True
# One date style everywhere, also where Django formats dates itself (the admin): 01-12-2026 18:39.
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "static")

# Back-up files live in their own storage: the filesystem by default, S3 (or an S3-compatible server) when
# BACKUP_S3_BUCKET is set. Existing files are never overwritten.
BACKUP_S3_BUCKET = env_str("BACKUP_S3_BUCKET")
if BACKUP_S3_BUCKET:
    BACKUP_STORAGE: dict = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BACKUP_S3_BUCKET,
            "endpoint_url": env_str("BACKUP_S3_ENDPOINT_URL") or None,
            "region_name": env_str("BACKUP_S3_REGION") or None,
            "access_key": env_str("BACKUP_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("BACKUP_S3_SECRET_ACCESS_KEY") or None,
            "location": env_str("BACKUP_S3_PREFIX", "backups"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            "signature_version": "s3v4",
            "querystring_expire": env_int("BACKUP_S3_URL_EXPIRE_SECONDS", 300),
        },
    }
else:
    BACKUP_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(env_path("BACKUP_DIR", DATA_DIR / "backups"))},
    }
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "backups": BACKUP_STORAGE,
}

# Administration databases (see administrations/databases.py).
# Online administrations: SQLite files in this folder, unless ONLINE_DATABASE_URL names a PostgreSQL server
# (postgresql://user@host:port/) on which each online administration gets a database of its own.
ONLINE_ADMINISTRATIONS_DIR = env_path("ONLINE_ADMINISTRATIONS_DIR", DATA_DIR / "administrations")
ONLINE_DATABASE_URL = env_str("ONLINE_DATABASE_URL")
# New administration databases are named this prefix and a random part. It must start with `adm_` (the only names the
# portal ever drops on that server); a test run sets its own so parallel runs on one server never touch each other's.
ONLINE_DATABASE_PREFIX = env_str("ONLINE_DATABASE_PREFIX", "adm_")
if not re.fullmatch(r"adm_[A-Za-z0-9_]{0,20}", ONLINE_DATABASE_PREFIX):
    raise ImproperlyConfigured(
        "ONLINE_DATABASE_PREFIX moet beginnen met adm_ en mag daarna hooguit 20 letters, cijfers of _ hebben."
    )
# Local administrations: SQLite files the user places somewhere inside this root, never outside it.
LOCAL_ADMINISTRATIONS_ROOT = env_path("LOCAL_ADMINISTRATIONS_ROOT", DATA_DIR / "local")

# Subscriptions: the number of online administrations included, and the monthly price of each extra one (R17).
INCLUDED_ONLINE_ADMINISTRATIONS = env_int("INCLUDED_ONLINE_ADMINISTRATIONS", 1)
# When a client removes an accountancy firm's right that existed at least this long, the firm gets an automatic
# back-up of the (online) administration up to that moment in its own overview.
FIRM_REVOKE_BACKUP_MIN_DAYS = env_int("FIRM_REVOKE_BACKUP_MIN_DAYS", 30)
EXTRA_ONLINE_ADMINISTRATION_PRICE = env_decimal("EXTRA_ONLINE_ADMINISTRATION_PRICE", "3.00")

# Uploads of back-ups are streamed to disk, never held in memory.
BACKUP_UPLOAD_MAX_BYTES = env_int("BACKUP_UPLOAD_MAX_BYTES", 10 * 1024**3)
# Largest old Access administration file (.mdb) accepted by Toevoegen → Bestaande administratie (R14).
MDB_UPLOAD_MAX_BYTES = env_int("MDB_UPLOAD_MAX_BYTES", 2 * 1024**3)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
# An upload is refused when it would leave less than this free on the disk of the upload, data or back-up folder.
MIN_FREE_DISK_BYTES = env_int("MIN_FREE_DISK_BYTES", 1024**3)
FILE_UPLOAD_TEMP_DIR = str(env_path("FILE_UPLOAD_TEMP_DIR", DATA_DIR / "uploads"))
# Files the portal writes through Django's storages (back-ups, uploads) are for the portal's own user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700


def private_folder(folder: Path) -> None:
    """Make a folder only the portal's user may enter (0700), also when it was made looser before."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)


# The embedded defaults need their folders; creating them here keeps the two README commands enough.
for _folder in (DATA_DIR, Path(FILE_UPLOAD_TEMP_DIR)):
    private_folder(_folder)
_sqlite_name = str(DATABASES["default"]["NAME"]) if DATABASES["default"]["ENGINE"].endswith("sqlite3") else ""
if _sqlite_name and _sqlite_name != ":memory:" and not _sqlite_name.startswith("file:"):
    # SQLite would create the portal database (password hashes, sessions) readable by everyone (0644 under the
    # usual umask); an empty file is a valid database, so make it first, 0600. Its journal and WAL files get the
    # database file's permissions from SQLite itself.
    _sqlite_path = Path(_sqlite_name)
    _sqlite_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(_sqlite_path, os.O_WRONLY | os.O_CREAT, 0o600))
    _sqlite_path.chmod(0o600)

# SQL passwords for network restores are encrypted at rest with this key (Fernet), not with SECRET_KEY.
CREDENTIALS_KEY = env_str("CREDENTIALS_KEY")

# Jobs: django-q2 with the Django database as broker by default, Redis when REDIS_URL is set.
# timeout > longest job, retry > timeout, one attempt only: our own Job table keeps the history and a failed
# back-up is retried by a person, never silently twice.
JOB_TIMEOUT_SECONDS = env_int("JOB_TIMEOUT_SECONDS", 6 * 3600)
# A running job reports at least every few seconds; one silent this long lost its worker and is reaped.
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 300)
# A queued job nobody claimed this long whose message is not on the broker (a broker restart, a worker that died
# holding it) is handed over again by the reaper, at most JOB_QUEUED_MAX_ENQUEUES times; then it fails.
JOB_QUEUED_STALE_SECONDS = env_int("JOB_QUEUED_STALE_SECONDS", 120)
JOB_QUEUED_MAX_ENQUEUES = env_int("JOB_QUEUED_MAX_ENQUEUES", 10)
# Automatic back-ups: started within this many seconds after their chosen time (a fixed place per administration),
# so that thousands due at 02:00 do not all start in the same second; the scheduler takes this many per batch.
SCHEDULE_SPREAD_SECONDS = env_int("SCHEDULE_SPREAD_SECONDS", 3600)
SCHEDULE_BATCH_SIZE = env_int("SCHEDULE_BATCH_SIZE", 500)
# Messages when something is wrong: no successful back-up for this many days beyond a schedule's own interval; an
# aftercare list still open this many days after the restore.
BACKUP_STALE_DAYS = env_int("BACKUP_STALE_DAYS", 2)
AFTERCARE_REMINDER_DAYS = env_int("AFTERCARE_REMINDER_DAYS", 7)
# Storage quota for each account's back-ups in GB (decimal); empty = none. Support can set one per account.
BACKUP_QUOTA_GB = env_str("BACKUP_QUOTA_GB")
# Microsoft SqlPackage for SQL Server administrations; empty = use the native engine.
SQLPACKAGE_PATH = env_str("SQLPACKAGE_PATH")
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER: dict = {
    "name": env_str("Q_CLUSTER_NAME", "portal"),
    "workers": env_int("Q_WORKERS", 2),
    "timeout": JOB_TIMEOUT_SECONDS,
    "retry": JOB_TIMEOUT_SECONDS + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 250,
    "catch_up": False,
    # django-q2's own section in the admin (superusers only); the portal's jobs are "Taken" under Back-ups.
    "label": "Taakwachtrij (django-q)",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Tests and the management commands may run jobs in-process.
Q_CLUSTER["sync"] = env_bool("Q_SYNC", default=False)

# The API (/api/v1/) and webhooks.
# Requests per token per window (a fixed window counted in the Django cache).
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 120)
API_RATE_WINDOW_SECONDS = env_int("API_RATE_WINDOW_SECONDS", 60)
# How long a retried request with the same Idempotency-Key gets the first answer.
API_IDEMPOTENCY_SECONDS = env_int("API_IDEMPOTENCY_SECONDS", 24 * 3600)
# Webhooks go to https:// on public addresses only; the demo and the tests may allow http:// and loopback/private
# addresses. Never set these in production: they let the portal call into its own network.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
# Seconds before the second attempt; doubled after every further failure (30 s, 1, 2, 4, 8 minutes).
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
if REDIS_URL:
    # Rate-limit counters shared by every web process.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Links in e-mails point here.
PORTAL_URL = env_str("PORTAL_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# HTTPS, set per deployment (README, Configuration → Production). Behind a proxy that ends TLS,
# SECURE_PROXY_SSL_HEADER names the header it sets, e.g. "X-Forwarded-Proto: https".
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_header:
    _header, _, _value = _proxy_header.partition(":")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.strip().upper().replace("-", "_"), _value.strip() or "https")

# Content-Security-Policy (django-csp): only our own files. htmx is served from our static files and runs with
# eval, script tags in swaps and its inline indicator styles switched off (templates/base.html), so no inline
# script or style is needed anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
