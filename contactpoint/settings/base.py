"""Settings shared by every deployment; each value that differs comes from the environment."""

from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP

from .env import cache_from_url, env_bool, env_int, env_list, env_str

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Where the embedded database and other local state live when nothing else is configured.
DATA_DIR = Path(env_str("CONTACTPOINT_DATA_DIR", PROJECT_DIR.parent / "var"))

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "contactpoint.records",
    "contactpoint.feeds",
    "contactpoint.access",
    "contactpoint.audit",
    "contactpoint.linkage",
    "contactpoint.search",
    "contactpoint.retention",
    "contactpoint.subject_access",
    "contactpoint.web",
    "contactpoint.api",
    "contactpoint.notifications",
    "contactpoint.signposting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "contactpoint.access.middleware.SessionTimeoutMiddleware",
    "contactpoint.access.middleware.SecondFactorRequiredMiddleware",
    "contactpoint.access.middleware.AdminReauthMiddleware",
    "contactpoint.audit.admin_acts.AdminClientMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Sign-in: password (argon2), then a second factor (TOTP or a recovery code); repeated failures
# lock the username out (django-axes).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # lock a name, or an address, after repeated failures
AXES_RESET_ON_SUCCESS = True
OTP_TOTP_ISSUER = "ContactPoint"
AXES_VERBOSE = False
# Security keys and passkeys (WebAuthn, django-otp-webauthn) as a second factor only: signing in
# without a password would skip the vetting check that the password step makes.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "ContactPoint"
OTP_WEBAUTHN_RP_ID = env_str("CONTACTPOINT_WEBAUTHN_RP_ID", "localhost")
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list("CONTACTPOINT_WEBAUTHN_ORIGINS", "http://localhost:8000")
# Sensitive acts (break-glass, shielding, managing users, exports) need a second factor passed
# within this many seconds; older, and the user confirms it is them first.
CONTACTPOINT_REAUTH_SECONDS = env_int("CONTACTPOINT_REAUTH_SECONDS", 5 * 60)
# A signed-in session ends after this long without a request, and after SESSION_COOKIE_AGE regardless.
CONTACTPOINT_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 15 * 60)

ROOT_URLCONF = "contactpoint.urls"
WSGI_APPLICATION = "contactpoint.wsgi.application"

TEMPLATES = [
    {
        # The service's pages: GOV.UK Frontend's component macros (see contactpoint/web/templating.py).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "contactpoint.web.templating.environment",
            "context_processors": ["contactpoint.web.templating.request_context"],
        },
    },
    {
        # The Django admin.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env(default_sqlite: Path) -> dict[str, Any]:
    """SQLite needs a busy timeout so the web server and a feed load can share the file."""
    url = env_str("DATABASE_URL", f"sqlite:///{default_sqlite}")
    config: dict[str, Any] = {**dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {}).update(
            {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
        )
    return config


DATABASES = {"default": database_from_env(DATA_DIR / "contactpoint.sqlite3")}
# API rate limits and the throttle on auditing failed token sign-ins count here: one process's
# memory for the demo (runserver is one process) and tests; production must name a shared cache
# (Redis, settings/production.py).
CACHES = {"default": cache_from_url(env_str("CACHE_URL", "locmem://"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work (feed loads, linkage, notifications) queues in the database; `contactpoint
# db_worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", DATA_DIR / "staticfiles"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 8 * 60 * 60)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's own middleware): every script, style, font and image comes
# from this service; no inline script or style runs, and no page may be framed (ADR 0007).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Processes that validate large feed files while the loader writes (0: validate in-process).
CONTACTPOINT_FEED_WORKERS = env_int("CONTACTPOINT_FEED_WORKERS", 2)

# The key that signs audit events and checkpoints, kept outside the database (hex), or a file holding it.
CONTACTPOINT_AUDIT_KEY = env_str("CONTACTPOINT_AUDIT_KEY", "")
CONTACTPOINT_AUDIT_KEY_FILE = env_str("CONTACTPOINT_AUDIT_KEY_FILE", "")
# Years a year's search criteria stay readable in the audit log after that year (docs/audit.md):
# then `apply_retention` destroys the year's key; the events themselves stay and still verify.
CONTACTPOINT_AUDIT_CRITERIA_YEARS = env_int("CONTACTPOINT_AUDIT_CRITERIA_YEARS", 6)

# Retention (docs/retention.md): the key-encryption keys that wrap each child's data key (hex,
# comma-separated, oldest first, the newest wraps), or a file of them; and where decommissioning
# writes its certificate of destruction.
CONTACTPOINT_DATA_KEK = env_str("CONTACTPOINT_DATA_KEK", "")
CONTACTPOINT_DATA_KEK_FILE = env_str("CONTACTPOINT_DATA_KEK_FILE", "")
# Keys of the tombstones destroyed children leave (HMAC, hex, comma-separated, oldest first; the
# newest makes new tombstones), or a file of them: they stop a feed bringing the child back.
CONTACTPOINT_TOMBSTONE_KEY = env_str("CONTACTPOINT_TOMBSTONE_KEY", "")
CONTACTPOINT_TOMBSTONE_KEY_FILE = env_str("CONTACTPOINT_TOMBSTONE_KEY_FILE", "")
CONTACTPOINT_CERTIFICATE_DIR = env_str("CONTACTPOINT_CERTIFICATE_DIR", str(DATA_DIR / "certificates"))

# Mail (misuse alerts to the management team, notices to a user's manager): an SMTP relay.
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("DJANGO_EMAIL_HOST", "localhost"),
            "port": env_int("DJANGO_EMAIL_PORT", 25),
            "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "contactpoint@localhost")

# Notifications (docs/notifications.md): webhook retries back off from this many seconds,
# doubling, until the last attempt makes a dead letter; a worker's claim on a delivery lapses
# after the lease, so a stopped worker's deliveries are sent again (receivers de-duplicate).
CONTACTPOINT_WEBHOOK_MAX_ATTEMPTS = env_int("CONTACTPOINT_WEBHOOK_MAX_ATTEMPTS", 8)
CONTACTPOINT_WEBHOOK_BACKOFF_SECONDS = env_int("CONTACTPOINT_WEBHOOK_BACKOFF_SECONDS", 30)
CONTACTPOINT_WEBHOOK_TIMEOUT_SECONDS = env_int("CONTACTPOINT_WEBHOOK_TIMEOUT_SECONDS", 10)
CONTACTPOINT_WEBHOOK_ALLOW_HTTP = env_bool("CONTACTPOINT_WEBHOOK_ALLOW_HTTP", False)
CONTACTPOINT_NOTIFY_LEASE_SECONDS = env_int("CONTACTPOINT_NOTIFY_LEASE_SECONDS", 120)
# Where the service is reached, for links in notification emails.
CONTACTPOINT_SITE_URL = env_str("CONTACTPOINT_SITE_URL", "http://localhost:8000")

# Deployment shape: "national" holds every in-scope child; "targeted" only children known to services.
CONTACTPOINT_SCOPE = env_str("CONTACTPOINT_SCOPE", "national")
# Targeted scope: a child whose last involvement ended this many days ago is still known to services.
CONTACTPOINT_SCOPE_GRACE_DAYS = env_int("CONTACTPOINT_SCOPE_GRACE_DAYS", 180)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},  # lock-outs are warnings; every success need not be logged
}

# Serve static files from the app directories while debugging, without a collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Linkage: the match model artifact in force (a file in contactpoint/linkage/artifacts/ or a path;
# empty means the newest shipped) and the engine full runs use (duckdb, or spark at national scale).
CONTACTPOINT_LINKAGE_MODEL = env_str("CONTACTPOINT_LINKAGE_MODEL", "")
CONTACTPOINT_LINKAGE_ENGINE = env_str("CONTACTPOINT_LINKAGE_ENGINE", "duckdb")
CONTACTPOINT_DUCKDB_MEMORY_LIMIT = env_str("CONTACTPOINT_DUCKDB_MEMORY_LIMIT", "8GB")


# The REST API (/api/v1/) and FHIR (/fhir/): bearer tokens, per-token rate limits, problem details.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["contactpoint.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["contactpoint.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("CONTACTPOINT_API_RATE", "600/min"),
        "feed": env_str("CONTACTPOINT_API_FEED_RATE", "30/hour"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_PAGINATION_CLASS": "contactpoint.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "contactpoint.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ContactPoint API",
    "DESCRIPTION": (
        "Find a child, see who else works with them, and record your own involvement. Every call "
        "that shows or changes a child's record needs an `X-Access-Reason` header and is audited. "
        "Errors are RFC 9457 problem details. See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AddressStatusEnum": "contactpoint.records.models.AddressStatus",
        "FeedLoadStatusEnum": ["loaded", "already_loaded", "queued"],
    },
}
# Feed files up to this size load while the caller waits; larger ones are queued for the worker.
CONTACTPOINT_API_FEED_SYNC_MAX_BYTES = env_int("CONTACTPOINT_API_FEED_SYNC_MAX_BYTES", 1_000_000)
# Where feed files submitted over HTTPS are kept (the load report points back to them).
CONTACTPOINT_FEED_UPLOAD_DIR = Path(env_str("CONTACTPOINT_FEED_UPLOAD_DIR", DATA_DIR / "feed-uploads"))
# Feed files larger than this are refused outright (bytes).
CONTACTPOINT_API_FEED_MAX_BYTES = env_int("CONTACTPOINT_API_FEED_MAX_BYTES", 200_000_000)
