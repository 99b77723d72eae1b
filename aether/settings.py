"""Aether settings: one module, every value from the environment (django-environ).

One stack everywhere: PostgreSQL and Redis, in `make run`, in the tests and in production. `make run` and
`make test` start embedded ones (aether/embedded.py) when DATABASE_URL / REDIS_URL are not set, and `make run`
writes their addresses into this checkout's .env, so `python manage.py ...` reaches them while they run.
Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and an email provider; DEBUG is off unless
asked for. The tests run these settings as they are (pyproject.toml's pytest env: production, over HTTP).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# `make run` writes this checkout's .env (git ignores it): DEBUG and the one SITE_URL, so that `python manage.py
# ...` works here with no variables set and every process (web, worker, beat) links to the same site. A
# variable set in the environment wins over the file; AETHER_ENV_FILE="" reads none (the tests do that).
ENV_FILE = os.environ.get("AETHER_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

env = environ.Env()
VAR_DIR = Path(env.str("AETHER_VAR_DIR", default=str(BASE_DIR / "var")))


def _debug_secret_key() -> str:
    """A key made once per checkout under var/ (never a constant in the code: a known key forges sessions and
    tokens). Processes starting at once agree on one: the file appears whole, by a hard link, or not at all."""
    path = VAR_DIR / "debug-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".debug-secret-key.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
# Production refuses to start without a secret; a debug run makes its own once per checkout.
SECRET_KEY = env.str("SECRET_KEY") if not DEBUG else env.str("SECRET_KEY", default="") or _debug_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The one address of the site, for links in emails. Not derived from PORT: under honcho each process has its
# own PORT, and the worker's emails linked to the worker's port.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "aether.apps.AetherAdminConfig",  # django.contrib.admin with the scoped site (aether/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "anymail",
    "django_otp",  # the second factor (accounts/second_factor.py): TOTP apps and recovery codes
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "aether",  # the project's system checks (aether/checks.py)
    "accounts",
    "tasks",
    "notifications",
    "analytics",
    "sync",
]

MIDDLEWARE = [
    "aether.errors.ProductionErrorsMiddleware",  # first: errors answer as in production, DEBUG or not
    "aether.outages.OutageMiddleware",  # PostgreSQL or Redis down: 503 with Retry-After, not a crash (DEBUG or not)
    "django.middleware.security.SecurityMiddleware",
    "aether.hygiene.NulBytesMiddleware",  # a NUL in the path or the query string is a 400, not a database error
    "aether.api.ApiBodySizeMiddleware",  # 413 in the API's error shape before a large body is read
    "aether.api.ApiQueryMiddleware",  # a query parameter given empty is a 400 naming it
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): this session passed a second factor
    "accounts.audit.ClientAddressMiddleware",  # the client address of the account audit trail's rows
    "aether.posting.InPlaceSignInMiddleware",  # an ended session: 401 to htmx, `next` the page (not the POST)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aether.urls"
# The largest request body (the API's JSON included; a task with its stages is a few kilobytes).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
WSGI_APPLICATION = "aether.wsgi.application"
ASGI_APPLICATION = "aether.asgi.application"  # what the web process serves (Procfile, aether/live/)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
_NOT_SET = (
    "{} is not set. `make run` and `make test` start an embedded PostgreSQL and Redis for this checkout and "
    "write their addresses into .env; elsewhere, point DATABASE_URL at PostgreSQL and REDIS_URL at Redis."
)
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured(_NOT_SET.format("DATABASE_URL"))
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...): the only engine.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DATABASE_POOL", default=False):
    # The ASGI web process (gunicorn.conf.py sets this): its sync views run in a thread per request, so a
    # connection kept per thread would be a new connection per request. One psycopg pool per process instead,
    # each checked before use (Django gives the pool CONN_HEALTH_CHECKS); CONN_MAX_AGE must then be 0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=20),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5),
        # A connection the pool could not make is retried with a doubling delay until this many seconds have
        # passed, then given up until a request asks again: kept short, so that once PostgreSQL is back the
        # next request connects at once instead of waiting out a delay grown during the outage (bench/faults.py).
        "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=3),
    }
if env.str("DATABASE_REPLICA_URL", default=""):
    # A read replica for reporting: dashboard figures and CSV exports read it (analytics/routers.py). In tests it
    # mirrors the default database.
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"].get("CONN_MAX_AGE", 0)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["analytics.routers.ReportingRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # The one sign-in policy (accounts/signin.py) for the sign-in page, admin and the token endpoint: it checks
    # every email-and-password attempt itself. ModelBackend stays listed for sessions that name it.
    "accounts.signin.SignInPolicyBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",  # OWASP's parameters (19 MiB); old argon2 hashes upgraded at sign-in
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Sign-in policy (accounts/signin.py; README "Security"): failures per account+address and per account, in
# fixed windows; addresses that signed in to the account before are exempt from the account-wide pause.
AETHER_SIGNIN_PAIR_LIMIT = env.int("AETHER_SIGNIN_PAIR_LIMIT", default=5)
AETHER_SIGNIN_ACCOUNT_LIMIT = env.int("AETHER_SIGNIN_ACCOUNT_LIMIT", default=20)
AETHER_SIGNIN_WINDOW_MINUTES = env.int("AETHER_SIGNIN_WINDOW_MINUTES", default=15)
AETHER_SIGNIN_KNOWN_DAYS = env.int("AETHER_SIGNIN_KNOWN_DAYS", default=30)
# Django admin asks staff for a second factor (accounts/second_factor.py). On wherever DEBUG is off, so in
# every deployment; `make run` (DEBUG on) leaves it off, so that its demo admin signs in with the password.
AETHER_STAFF_SECOND_FACTOR = env.bool("AETHER_STAFF_SECOND_FACTOR", default=not DEBUG)
OTP_TOTP_ISSUER = "Aether"  # the name authenticator apps show next to the account
# How many password hashes one process computes at once (each takes 19 MiB and a core for ~50 ms); a sign-in
# that waits longer than AETHER_PASSWORD_CHECK_WAIT seconds for its turn answers 503 with Retry-After.
AETHER_PASSWORD_CHECKS_AT_ONCE = env.int("AETHER_PASSWORD_CHECKS_AT_ONCE", default=2)
AETHER_PASSWORD_CHECK_WAIT = env.float("AETHER_PASSWORD_CHECK_WAIT", default=10.0)
# Password-reset emails per account and per client address, each an hour (over either, none; same answer).
AETHER_RESET_PER_ACCOUNT = env.int("AETHER_RESET_PER_ACCOUNT", default=3)
AETHER_RESET_PER_ADDRESS = env.int("AETHER_RESET_PER_ADDRESS", default=10)

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))  # collectstatic's target
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Aether <noreply@aether.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_FILE_PATH = VAR_DIR / "mail"
ANYMAIL_ESP = env.str("ANYMAIL_ESP", default="")  # e.g. "postmark", "sendgrid", "mailgun", "amazon_ses"
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
    ANYMAIL = {
        f"{ANYMAIL_ESP.upper()}_API_KEY": env.str("ANYMAIL_API_KEY", default=""),
        "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    }
elif env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ...
else:
    # One file per message under var/mail/, so a developer can open exactly what a user would receive.
    EMAIL_BACKEND = "notifications.backends.FilePerMessageEmailBackend"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_BACKEND)
# A hung SMTP server must not hold an outbox lease for ever: each send gives up after this many seconds.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Cache ---------------------------------------------------------------------------------------------
if not env.str("REDIS_URL", default=""):
    raise ImproperlyConfigured(_NOT_SET.format("REDIS_URL"))
REDIS_URL = env.str("REDIS_URL")
# Every key this deployment writes to Redis (cache, generations, rate limits, sign-in counters, the sign-out
# denylist, Celery's queues) starts with this prefix, so two deployments or a test run sharing one Redis never
# read each other's keys. By default the database's name: one database, one set of keys.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default=DATABASES["default"]["NAME"])
CACHES = {
    "default": {
        "BACKEND": "aether.cache.RedisCache",  # one client per pool
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        # A Redis that stops answering (stalled, or its host gone) must fail a request within seconds (a 503,
        # aether/outages.py), not hold a web thread until gunicorn kills the worker. A refused connection fails
        # at once anyway; every command Aether sends takes well under a millisecond.
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=3),
            "socket_timeout": env.float("REDIS_TIMEOUT", default=3),
        },
    }
}
# Generations (aether/generations.py: the ETags of the API, the account projection of authentication) live this
# long after they were last renewed: the bound on how long a renewal lost to a crash could go unseen.
AETHER_GENERATION_SECONDS = env.int("AETHER_GENERATION_SECONDS", default=60 * 60)

# --- Celery ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport, with a closed channel's lost connection raised as one (aether/broker.py): a worker
# survives Redis going away mid-delivery instead of exiting with "Unrecoverable error".
CELERY_BROKER_TRANSPORT = "aether.broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis redelivers an unacknowledged message only after this; it must outlast the longest countdown/ETA we
    # ever schedule (the outbox schedules none: retry times live in the rows, the sweep finds them) and the
    # longest task run (TASK_TIME_LIMIT below), or a running task would be started twice. A message lost with a
    # dead worker waits this long, but the outbox sweep does not wait for it.
    "visibility_timeout": 60 * 60 * 2,
    # A black-holed Redis must fail a web request's after-commit publish quickly (the sweep delivers later), not
    # hang it on the kernel's connect timeout.
    "socket_connect_timeout": 5,
    # The queues, bindings and unacknowledged messages under this deployment's prefix too.
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
}
CELERY_TASK_IGNORE_RESULT = True  # no task result is read; the outbox row is the record
# A task is acknowledged only after it ran, so a worker killed mid-task leaves it to be redelivered ...
CELERY_TASK_ACKS_LATE = True
# ... including when the worker process is killed by the OS (SIGKILL, OOM) rather than raising.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Take one message at a time: a prefetched message is held hostage by a busy or dying worker.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task that raised is acknowledged, not redelivered in a loop: the outbox row records the failure and its
# next attempt time, so the retry belongs to the row (with backoff), not to the broker.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
# On a lost broker connection, let running tasks finish rather than killing them mid-send (a killed send can
# become a duplicate email); their messages are redelivered, and the rerun finds its rows sent or leased.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Aether's own knobs ---------------------------------------------------------------------------------
AETHER_ARCHIVE_AFTER_DAYS = env.int("AETHER_ARCHIVE_AFTER_DAYS", default=30)
AETHER_DUE_SOON_HOURS = env.int("AETHER_DUE_SOON_HOURS", default=24)
# Repeating tasks (tasks/services/recurrence.py): an occurrence is made this many days before its date (0: on
# the day, just after midnight in the team's time zone), and one run makes at most this many per series.
AETHER_RECURRENCE_AHEAD_DAYS = env.int("AETHER_RECURRENCE_AHEAD_DAYS", default=0)
AETHER_RECURRENCE_BOUND = env.int("AETHER_RECURRENCE_BOUND", default=50)
AETHER_OUTBOX_MAX_ATTEMPTS = env.int("AETHER_OUTBOX_MAX_ATTEMPTS", default=5)
# How long a worker holds the outbox rows it claimed; a dead worker's rows are retaken after this.
AETHER_OUTBOX_LEASE_SECONDS = env.int("AETHER_OUTBOX_LEASE_SECONDS", default=300)
# Who may still hear about a team: a function of (user_id, team_id) pairs returning those that are current
# members (one query). notifications asks it when an event is written and again just before sending, without
# importing accounts (accounts imports notifications).
NOTIFICATIONS_AUDIENCE_CHECK = "accounts.selectors.members_among"
# "As it happens": emails about the same task for the same person within this many seconds of the first go out
# as one (notifications/merging.py; the merge job runs every minute). 0 sends each at once.
AETHER_EMAIL_BATCH_SECONDS = env.int("AETHER_EMAIL_BATCH_SECONDS", default=300)
# Delta sync (sync/): change-log rows are kept this many days; an older cursor answers 410 (start over).
AETHER_SYNC_KEEP_DAYS = env.int("AETHER_SYNC_KEEP_DAYS", default=30)
# The time zone a user's digest hour starts in until they choose one: a function of a user id returning a zone
# name (accounts answers: their first team's), asked without importing accounts, like the audience check.
NOTIFICATIONS_DEFAULT_TIME_ZONE = "accounts.selectors.time_zone_default_for"
# The link of an invitation or password-reset email, made when the email is sent (a function of kind, the row's
# context and user id; None when it no longer applies): accounts answers, so that no link is ever stored.
NOTIFICATIONS_LINK_AT_DELIVERY = "accounts.links.link_at_delivery"

# --- API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # simplejwt's, plus the sign-out denylist (accounts/tokens.py): one cache read per request
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.tokens.DenylistJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["aether.renderers.OrjsonRenderer"],  # DRF's JSON, encoded by orjson
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "aether.api_schema.AetherAutoSchema",  # documents every operation's error answers
    "EXCEPTION_HANDLER": "aether.api.api_exception_handler",  # one JSON error shape, services' errors included
    "DEFAULT_METADATA_CLASS": "aether.metadata.ApiMetadata",  # OPTIONS without DRF's forms (a 500 on some views)
    "DEFAULT_PAGINATION_CLASS": "aether.pagination.KeysetPagination",  # every page as cheap as the first
    # Proxies in front of the app: the address throttle takes the client address they append to
    # X-Forwarded-For; with 0 the header is ignored (a client could otherwise write its own).
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["aether.throttling.UserRateThrottle"],  # counted atomically
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "token_address": env.str("API_THROTTLE_TOKEN_ADDRESS", default="30/min"),
    },
    "DATETIME_FORMAT": "iso-8601",
    "DATE_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ISSUER": "aether",
    "AUDIENCE": "aether-api",
    "UPDATE_LAST_LOGIN": False,
    "CHECK_REVOKE_TOKEN": True,  # tokens carry a hash of the password: changing it revokes them
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aether API",
    "DESCRIPTION": "The JWT API used by Aether's mobile client.",
    "VERSION": "1.0.0",
    # 3.1: nullable fields as JSON Schema's type lists, which generated clients (openapi-python-client,
    # openapi-typescript) read as the schema means them.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # No badge from the public online validator: the docs page's CSP allows nothing off-site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aether.api_schema.link_created_objects",  # OpenAPI links from a create to its object's operations
        "aether.api_schema.state_input_constraints",  # the server's refusals of text, as patterns
    ],
}

# --- Security -------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept default for forms
CSRF_FAILURE_VIEW = "aether.posting.csrf_failure"  # plain words, and a renewable refusal for in-place posts
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's records go to the root's handler only: its own console handler (on in debug) printed them twice.
        "django": {"handlers": [], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
    },
}
