"""Settings, read from the environment.

Development defaults apply when DEBUG is true. With DEBUG false (the default)
the platform runs in production mode and refuses to start without a real
SECRET_KEY; `manage.py check --deploy --fail-level WARNING` passes in that mode.
"""

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import csp.constants as csp
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    # Second factor for staff: authenticator apps (TOTP) and single-use recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "core",
    "reference",
    "accounts",
    "agencies",
    "declarations",
    "risk",
    "notifications",
    "payments",
    "guarantees",
    "devices",
    "clearance",
    "exports",
    "continuity",
    "emergencies",
    "supplies",
    "relief",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Answers 503 while the database is down; reads the user before anything else does.
    "core.middleware.DatabaseUnavailableMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Emergency-In-Force on every API response to a signed-in caller.
    "emergencies.middleware.EmergencyHeaderMiddleware",
    # Turns a login refused for too many failures into the lockout answer
    # (accounts.lockout.lockout_response); last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "singlewindow.urls"
WSGI_APPLICATION = "singlewindow.wsgi.application"

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
                "emergencies.context_processors.emergency_banner",
            ],
        },
    },
]

# Two roles on one database. DATABASE_URL is the application's role: it reads and
# writes rows (only inserts and reads the audit tables) and owns nothing, so it
# cannot alter or disable the audit triggers. MIGRATION_DATABASE_URL is the
# owner's: `migrate` runs with it as DATABASE_URL, and `db_grant_app_role` uses
# it as the `owner` alias; unset, it is DATABASE_URL (one role for everything,
# as in the test suite).
_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/singlewindow")
DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL,
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    ),
    "owner": dj_database_url.parse(os.environ.get("MIGRATION_DATABASE_URL") or _DATABASE_URL),
}
# The same database: tests create it once, and the owner's alias points at it.
DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
for _alias in DATABASES:
    if DATABASES[_alias]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL and MIGRATION_DATABASE_URL must be PostgreSQL")

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "sw"),
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every login of a locked-out account or address, the right
    # password included, before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's offices with the user.
    "accounts.backends.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login lockout and API tokens --------------------------------------------
# Client addresses: the proxies in front of the platform append to
# X-Forwarded-For; the address the outermost trusted one saw is the client's.
# Without a proxy X-Forwarded-For is whatever the client wrote and is ignored.
TRUSTED_PROXY_COUNT = int(
    os.environ.get("TRUSTED_PROXY_COUNT", "1" if env_bool("BEHIND_TLS_PROXY", False) else "0")
)
# django-axes, recording in the database: failed logins on the login page, the
# admin login and POST /api/v1/auth/token/ lock out the account after
# AUTH_FAILURE_LIMIT failures and, separately, the address after
# AUTH_ADDRESS_FAILURE_LIMIT (an office's users share one) within
# AUTH_LOCKOUT_MINUTES; the lockout lasts that long from the last try, or until an
# administrator unlocks.
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("AUTH_FAILURE_LIMIT", "5"))
AUTH_ADDRESS_FAILURE_LIMIT = int(os.environ.get("AUTH_ADDRESS_FAILURE_LIMIT", "30"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AUTH_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
# Not reset by a success: one's own account's login would otherwise wipe the
# failures the same address made against others.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# POST /api/v1/auth/token/ also answers 429 past this rate per client address.
LOGIN_THROTTLE_RATE = os.environ.get("LOGIN_THROTTLE_RATE", "30/minute")
# API tokens live this long; a password change ends them all.
API_TOKEN_TTL = timedelta(hours=int(os.environ.get("API_TOKEN_TTL_HOURS", "24")))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The issuer an authenticator app shows next to the account name.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Single Window")

# django-guardian: no anonymous user row; object permissions are granted to
# company and agency groups only (see core/permissions.py).
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en"
# The administration's zone: "the day" of a lodgement (its exchange rate), of a
# permit's validity, and the times pages and the API show are in it.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security ----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts and styles come from our own static files only: no inline <script>,
# on* attribute, style attribute or eval runs (htmx's js: values and hx-on
# included). form-action also allows PAYMENT_BANK_URL's origin, per request
# (core.middleware.ContentSecurityPolicyMiddleware).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    },
}
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "camera", "display-capture", "geolocation", "gyroscope",
        "magnetometer", "microphone", "midi", "payment", "usb", "xr-spatial-tracking",
    )
)  # fmt: skip

# --- Security (production mode) -------------------------------------------
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # One switch for both cookies (what docker-compose passes on); each may be set apart.
    SECURE_COOKIES = env_bool("SECURE_COOKIES", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_COOKIES)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_COOKIES)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Container health checks talk plain HTTP to the web process directly.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Client addresses for throttling, as for the login lockout.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # DRF's three, with a JSON parser that refuses deep nesting with 400.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Single Window API",
    "DESCRIPTION": (
        "File import, export and transit declarations, follow their risk lane "
        "and agency reviews. Authenticate with `Authorization: Token <key>`; "
        "get a key from `POST /api/v1/auth/token/`."
    ),
    "VERSION": "1.0.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "emergencies.schema.document_emergency_header",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # `<int:pk>` matches digits only: a negative id is no route at all.
    "PATH_CONVERTER_OVERRIDES": {"int": {"type": "integer", "minimum": 0}},
    "ENUM_NAME_OVERRIDES": {
        "DeclarationStatus": "declarations.models.Declaration.Status",
        "ReviewStatus": "agencies.models.Review.Status",
        "PermitStatus": "agencies.models.Permit.Status",
        "DocumentKind": "declarations.models.Document.Kind",
        "PaymentStatus": "declarations.models.Payment.Status",
        "InspectionKind": "agencies.models.Inspection.Kind",
        "RiskJobKind": "risk.models.RiskJob.Kind",
        "RiskJobStatus": "risk.models.RiskJob.Status",
        "LaneEnum": "declarations.models.Lane",
        "GuaranteeStatus": "guarantees.models.Guarantee.Status",
        # The same three statuses as emergency proposals: one enum for both.
        "ProposalStatus": "guarantees.models.GuaranteeProposal.Status",
        "GuaranteeProposalKind": "guarantees.models.GuaranteeProposal.Kind",
        "GuaranteeDrawStatus": "guarantees.models.GuaranteeDraw.Status",
        "ControlResult": "declarations.models.TransitArrival.ControlResult",
        "OfficeKind": "reference.models.Office.Kind",
        "PlannedFallbackStatus": "risk.models.PlannedFallback.Status",
        "ScoringFaultKind": "risk.models.ScoringFault.Kind",
        "EmergencyStatus": "emergencies.models.Emergency.Status",
        "EmergencyProposalKind": "emergencies.models.EmergencyProposal.Kind",
        "ConsigneeStatus": "emergencies.models.HumanitarianConsignee.Status",
        "ConsigneeKind": "emergencies.models.HumanitarianConsignee.Kind",
        "ConsigneeDecisionStatus": "emergencies.serializers.CONSIGNEE_DECISIONS",
        "PreNotificationStatus": "supplies.models.PreNotification.Status",
        "SupplyPledgeStatus": "supplies.models.SupplyPledge.Status",
        "SupplyPledgeOutcome": ["delivered", "withdrawn"],
    },
}

# --- Celery ----------------------------------------------------------------
# Redis is the broker of the embedded stack and the default; RabbitMQ
# (amqp://...) is the production choice: durable queues, publisher confirms.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
BROKER_IS_AMQP = CELERY_BROKER_URL.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "singlewindow")
# Work that must not be lost is acknowledged only after it ran; a worker that
# dies mid-task leaves the message to be redelivered. Tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep reconnecting after an outage however long it lasts (celery's default gives up
# after 100 attempts and the worker exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
if BROKER_IS_AMQP:
    # RabbitMQ holds unacknowledged messages itself and redelivers them as soon as
    # the consumer's connection closes; Celery declares its queues durable and its
    # messages persistent, and with confirms a publish returns only once the
    # broker has taken the message.
    CELERY_TASK_DEFAULT_DELIVERY_MODE = "persistent"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    # kombu's Redis transport with an outage-proof restore of unacked messages
    # (see singlewindow/celery.py).
    CELERY_BROKER_TRANSPORT = "singlewindow.celery:RedisTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Unacknowledged messages come back after this long (seconds).
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600")),
        # How often (seconds) a worker looks for messages whose worker died; kombu
        # scans on every Nth look (throttle), so the period is their product.
        "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
        "unacked_restore_throttle": int(os.environ.get("CELERY_UNACKED_RESTORE_THROTTLE", "10")),
        # Publishing fails fast when Redis is down, so submit can report it.
        "socket_connect_timeout": 2,
        "max_retries": 2,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2}
# Submitted declarations still without a lane after this many seconds are
# re-queued by the sweeper.
RISK_SWEEP_AFTER_SECONDS = int(os.environ.get("RISK_SWEEP_AFTER_SECONDS", "120"))
# Uploaded invoices still not read after this many seconds are re-queued.
INVOICE_READ_SWEEP_AFTER_SECONDS = int(os.environ.get("INVOICE_READ_SWEEP_AFTER_SECONDS", "300"))
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "var" / "celerybeat-schedule")
)
# Every periodic job, in one place.
CELERY_BEAT_SCHEDULE = {
    "clearance-sweep-unscored": {
        "task": "clearance.tasks.sweep_unscored_declarations",
        # Often enough that a lost message waits at most about 1.5 times the age.
        "schedule": float(max(10, RISK_SWEEP_AFTER_SECONDS / 2)),
    },
    # A signed digest of every audit chain's head, kept outside the database.
    "declarations-publish-audit-anchor": {
        "task": "declarations.tasks.publish_audit_anchor",
        "schedule": float(os.environ.get("AUDIT_ANCHOR_SECONDS", str(60 * 60 * 24))),
    },
    "accounts-delete-expired-api-tokens": {
        "task": "accounts.tasks.delete_expired_api_tokens",
        "schedule": 60.0 * 60,
    },
    "risk-retrain-model": {
        "task": "risk.tasks.retrain_risk_model",
        "schedule": float(os.environ.get("RISK_RETRAIN_SECONDS", str(60 * 60 * 24 * 7))),
    },
    "declarations-sweep-unread-invoices": {
        "task": "declarations.tasks.sweep_unread_invoices",
        "schedule": float(max(30, INVOICE_READ_SWEEP_AFTER_SECONDS / 2)),
    },
    "notifications-sweep-outbox": {
        "task": "notifications.tasks.sweep_outbox",
        "schedule": float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30")),
    },
    # Exports released for exit and not seen leaving within EXPORT_EXIT_DAYS.
    "clearance-flag-overdue-exports": {
        "task": "clearance.tasks.flag_overdue_exports",
        "schedule": float(os.environ.get("EXPORT_EXIT_SWEEP_SECONDS", str(60 * 60))),
    },
    # Transit movements past their deadline: both offices and the declarant told, once.
    "clearance-flag-overdue-transit": {
        "task": "clearance.tasks.flag_overdue_transit_movements",
        "schedule": float(os.environ.get("TRANSIT_OVERDUE_SWEEP_SECONDS", "300")),
    },
    # Provisional relief declarations: reminders before their documents are due, and
    # the overdue flag once the deadline passes (each once).
    "relief-sweep-documents-owed": {
        "task": "relief.tasks.sweep_documents_owed",
        "schedule": float(os.environ.get("RELIEF_DOCUMENTS_SWEEP_SECONDS", "900")),
    },
}

# E-mail for notifications: sent only when EMAIL_HOST is configured.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Single Window <noreply@localhost>")
# Seconds one SMTP operation may hang; well under the outbox lease below.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
# The outbox (notifications.outbox): how long a delivery holds a message before
# another may take it over (its worker died), and the first retry delay, doubled
# after each failure up to an hour.
OUTBOX_LEASE_SECONDS = float(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
OUTBOX_RETRY_SECONDS = float(os.environ.get("OUTBOX_RETRY_SECONDS", "30"))

# The administration running the platform: imports arrive here, duties are in its currency.
NATIONAL_COUNTRY = os.environ.get("NATIONAL_COUNTRY", "KR")
NATIONAL_CURRENCY = os.environ.get("NATIONAL_CURRENCY", "KRW")
# Days the office of exit has to confirm that an export released for exit left; past
# them the export is flagged to that office's staff and to the declarant.
EXPORT_EXIT_DAYS = int(os.environ.get("EXPORT_EXIT_DAYS", "30"))
# A provisional relief declaration's declarant is reminded this many days before its
# documents are due (each reminder once); the deadline is the emergency's.
RELIEF_DOCUMENT_REMINDER_DAYS = [int(d) for d in env_list("RELIEF_DOCUMENT_REMINDER_DAYS", "3,1")]
# Lodgement is refused when the newest exchange rate of the invoice currency
# is older than this on the day of acceptance (rates are published daily).
EXCHANGE_RATE_MAX_AGE_DAYS = int(os.environ.get("EXCHANGE_RATE_MAX_AGE_DAYS", "7"))
# Payments are confirmed by the payer's bank: the trader is sent to PAYMENT_BANK_URL
# to pay an order, and the bank posts a notification signed (HMAC-SHA256) with
# PAYMENT_NOTIFICATION_SECRET, which is refused when older than the tolerance.
# Without a bank URL the trader pays at a customs cashier; without a secret every
# notification is refused.
PAYMENT_BANK_URL = os.environ.get("PAYMENT_BANK_URL", "")
PAYMENT_NOTIFICATION_SECRET = os.environ.get("PAYMENT_NOTIFICATION_SECRET", "")
PAYMENT_NOTIFICATION_TOLERANCE_SECONDS = int(
    os.environ.get("PAYMENT_NOTIFICATION_TOLERANCE_SECONDS", "300")
)
# The audit trail. Entries are hashed with HMAC-SHA256 under a key the database
# does not hold: AUDIT_HMAC_KEYS is "id:key,id:key", the first one signs new
# entries and the others still verify older ones (rotation). Anchors, a signed
# digest of every chain's head, are published daily into AUDIT_ANCHOR_DIR with
# the Ed25519 private key in the PEM file AUDIT_SIGNING_KEY (needed by the
# workers only); `audit_verify` checks them with the public key AUDIT_VERIFY_KEY
# (a PEM file; default: derived from the private key).
AUDIT_HMAC_KEYS = os.environ.get("AUDIT_HMAC_KEYS", "")
if not AUDIT_HMAC_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("AUDIT_HMAC_KEYS must be set when DEBUG is false")
    AUDIT_HMAC_KEYS = "dev:" + hashlib.sha256(f"audit-hmac:{SECRET_KEY}".encode()).hexdigest()
AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", "")
# Development only: without AUDIT_SIGNING_KEY, anchors are signed with a key derived from this.
AUDIT_DEV_SIGNING_SEED = (
    hashlib.sha256(f"audit-signing:{SECRET_KEY}".encode()).hexdigest()
    if DEBUG and not AUDIT_SIGNING_KEY
    else ""
)
AUDIT_VERIFY_KEY = os.environ.get("AUDIT_VERIFY_KEY", "")
AUDIT_ANCHOR_DIR = Path(os.environ.get("AUDIT_ANCHOR_DIR", BASE_DIR / "var" / "audit-anchors"))

# A transit declaration gives the days its movement has to reach the office of
# destination, counted from its release under seal; at most this many.
TRANSIT_MAX_DAYS = int(os.environ.get("TRANSIT_MAX_DAYS", "30"))

# Reference tables are cached in each process for this long (seconds).
REFERENCE_CACHE_SECONDS = int(os.environ.get("REFERENCE_CACHE_SECONDS", "60"))
# Uploaded documents: PDF, PNG or JPEG, checked by content, at most this size.
DOCUMENT_MAX_BYTES = int(os.environ.get("DOCUMENT_MAX_BYTES", str(10 * 1024 * 1024)))

# Uploaded invoices are read by a worker (declarations.reading): at most this many
# pages (about 0.1 s each), within this many seconds, in this many attempts.
INVOICE_READ_MAX_PAGES = int(os.environ.get("INVOICE_READ_MAX_PAGES", "50"))
INVOICE_READ_BUDGET_SECONDS = float(os.environ.get("INVOICE_READ_BUDGET_SECONDS", "30"))
INVOICE_READ_MAX_ATTEMPTS = int(os.environ.get("INVOICE_READ_MAX_ATTEMPTS", "3"))

# A scoring task that fails for a non-transient reason is retried after this delay.
RISK_RETRY_SECONDS = float(os.environ.get("RISK_RETRY_SECONDS", "5"))
# A scoring message also scores up to this many other waiting declarations in one model call.
RISK_BATCH_SIZE = int(os.environ.get("RISK_BATCH_SIZE", "32"))
# A live model that would not load is tried again after this many seconds (each worker).
RISK_MODEL_RETRY_SECONDS = float(os.environ.get("RISK_MODEL_RETRY_SECONDS", "30"))

# E-seals and cargo sensors (devices app). Devices publish their events to the MQTT
# broker at MQTT_URL (mqtt://user:password@host:port, mqtts:// for TLS), on
# `<MQTT_TOPIC_PREFIX>/<device id>/events`; `manage.py listen_devices` stores and
# evaluates them. The listener keeps one persistent session under MQTT_CLIENT_ID:
# what is published while it is away waits at the broker for it.
MQTT_URL = os.environ.get("MQTT_URL", "")
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID", "singlewindow-listener")
MQTT_TOPIC_PREFIX = os.environ.get("MQTT_TOPIC_PREFIX", "singlewindow/devices")
# "5" (MQTT 5: session expiry and receive maximum) or "3.1.1" (brokers without 5,
# such as the embedded one `./dev start` runs).
MQTT_PROTOCOL = os.environ.get("MQTT_PROTOCOL", "5")
# The listener commits events in batches of up to this many messages, or what came
# within this many milliseconds, and acknowledges them to the broker only then.
DEVICE_BATCH_SIZE = int(os.environ.get("DEVICE_BATCH_SIZE", "500"))
DEVICE_BATCH_MS = int(os.environ.get("DEVICE_BATCH_MS", "50"))
# Reconnection to the broker (and retries while the database is down) wait from
# the first number of seconds, doubling up to the second.
MQTT_RECONNECT_MIN_SECONDS = int(os.environ.get("MQTT_RECONNECT_MIN_SECONDS", "1"))
MQTT_RECONNECT_MAX_SECONDS = int(os.environ.get("MQTT_RECONNECT_MAX_SECONDS", "30"))
# A sealed movement's defaults until customs sets its own (devices.MonitoringProfile):
# how far from its route (km) and how long stopped (minutes) before an alert.
SEAL_CORRIDOR_KM = float(os.environ.get("SEAL_CORRIDOR_KM", "15"))
SEAL_MAX_STOP_MINUTES = int(os.environ.get("SEAL_MAX_STOP_MINUTES", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
