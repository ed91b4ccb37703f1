"""Cross-cutting: no page, API or command reaches a child's data except through access.door.

Two checks. Every URL is either known to show no child data, or is marked as going through the
door; a new URL fails this test until someone decides which it is. And no module outside the
data layer imports the models that hold child data, so nothing can read them around the door.
"""

import ast
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

import contactpoint

# Views that show no child's data (sign-in, health, index-wide counts, reference-data admin).
NO_CHILD_DATA = {
    "contactpoint.web.views.healthz",
    "contactpoint.web.views.home",
    # The user's own involvement with a child (their own answers) and the child's ContactPoint ID.
    "contactpoint.web.involvement_views.involvement_edit",
    "contactpoint.web.involvement_views.involvement_check",
    "contactpoint.web.involvement_views.involvement_end",
    "contactpoint.web.involvement_views.involvement_end_check",
    # Shield reviews: the shield's ContactPoint ID, reason and dates; the record opens through the door.
    "contactpoint.web.shield_views.shields",
    "contactpoint.web.shield_views.shield_review",
    "contactpoint.web.shield_views.shield_new",  # a ContactPoint ID and a reason, nothing about the child
    # The team's accounts: usernames, roles, organisations and vetting dates, no child's data.
    "contactpoint.web.user_views.users",
    "contactpoint.web.user_views.user_new",
    "contactpoint.web.user_views.user_detail",
    "contactpoint.web.user_views.user_vetting",
    "contactpoint.web.user_views.user_status",
    # Feed loads: counts, reasons and column names; sending a file answers with its load report.
    # Quarantined rows are shown only by web.feed_views.quarantine, through
    # feeds.selectors.quarantine_rows_show (area and audit).
    "contactpoint.web.feed_views.loads",
    "contactpoint.web.feed_views.load",
    "contactpoint.web.feed_views.resend",
    "contactpoint.web.views.activity",  # the user's own audit trail: ContactPoint IDs and reasons only
    # Notifications and emergency lookups: event kinds, times, ContactPoint IDs and settings' names.
    "contactpoint.web.notification_views.notifications",
    "contactpoint.web.notification_views.notification_settings",
    "contactpoint.web.notification_views.emergency_lookups",
    "django.contrib.auth.views.LoginView",
    "django.contrib.auth.views.LogoutView",
    "contactpoint.access.views.verify",
    "contactpoint.access.views.set_up",
    "contactpoint.access.views.security",
    "contactpoint.access.views.confirm",
    "contactpoint.access.key_views.KeyRegistrationBegin",
    "contactpoint.access.key_views.KeyRegistrationComplete",
    "contactpoint.access.key_views.KeyAuthenticationBegin",
    "contactpoint.access.key_views.KeyAuthenticationComplete",
    "django.views.i18n.JavaScriptCatalog",  # the security-key scripts' messages
    # Audit reports: the log holds ContactPoint IDs and actors, never a child's name or details.
    "contactpoint.audit.views.index",
    "contactpoint.audit.views.report",
    "contactpoint.audit.views.alerts",
    "contactpoint.audit.views.alert",
    # The OpenAPI document and its rendered pages; FHIR's CapabilityStatement.
    "drf_spectacular.views.SpectacularAPIView",
    "drf_spectacular.views.SpectacularRedocView",
    "drf_spectacular.views.SpectacularSwaggerView",
    "contactpoint.api.fhir.views.MetadataView",
    # Organisations are reference data; a feed submission answers with its load report (counts,
    # reasons and column names, never a child's values).
    "contactpoint.api.fhir.views.OrganizationReadView",
    "contactpoint.api.views.FeedFilesApi",
    "contactpoint.api.views.FeedTaskApi",
    "contactpoint.api.problems.unknown_address",
    # Webhook subscriptions and their dead letters: URLs, event kinds and ContactPoint IDs only.
    "contactpoint.api.subscriptions.SubscriptionsApi",
    "contactpoint.api.subscriptions.SubscriptionApi",
    "contactpoint.api.subscriptions.DeadLettersApi",
    "contactpoint.api.subscriptions.DeadLetterRetryApi",
    # Linkage review: the queue, the decision check, merges and quality show ContactPoint IDs,
    # reasons and counts; a pair's records are shown only by web.linkage_views.review_item,
    # through linkage.selectors.review_pair_for (permission, area, shield and audit).
    "contactpoint.web.linkage_views.review_queue",
    "contactpoint.web.linkage_views.review_check",
    "contactpoint.web.linkage_views.merges",
    "contactpoint.web.linkage_views.merge_split",
    "contactpoint.web.linkage_views.quality",
}
# The data layer: where child data is written, linked and read through the door itself.
# Retention archives and destroys the data (it reads no record to show anyone).
DATA_LAYER = (
    "records",
    "feeds",
    "linkage",
    "synthetic",
    "retention",
    "subject_access/collect.py",
    "access/door.py",
)
# The models holding a child's values. `Child` itself (an ID and a creation time) may be looked up
# anywhere: finding a child by ContactPoint ID reveals nothing about them.
CHILD_DATA_MODELS = {
    "ChildName",
    "ChildGender",
    "ChildBirthDate",
    "ChildAddress",
    "ChildIdentifier",
    "Carer",
    "EducationSetting",
    "GPRegistration",
    "Involvement",
    "SourceRecord",
    "SourceRecordVersion",
    "QuarantinedRow",
}


def all_views(resolver: URLResolver | None = None, prefix: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from all_views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "view_class", entry.callback)
            yield prefix + str(entry.pattern), f"{view.__module__}.{view.__qualname__}", entry.callback


def test_every_url_is_either_free_of_child_data_or_goes_through_the_door():
    unclassified = [
        (route, name)
        for route, name, callback in all_views()
        if name not in NO_CHILD_DATA
        and not route.startswith("admin/")  # reference data only: see the next test
        and not getattr(callback, "uses_child_door", False)
    ]
    assert unclassified == [], "Classify these views (see this test's docstring)"


def test_the_admin_registers_no_child_data_models():
    from django.contrib import admin

    registered = {model.__name__ for model in admin.site._registry}
    assert registered & (CHILD_DATA_MODELS | {"Child", "Shield"}) == set()


def test_nothing_outside_the_data_layer_imports_child_data_models():
    root = Path(contactpoint.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if (
            relative.startswith(DATA_LAYER)
            or "/tests/" in relative
            or relative.startswith("tests/")
            or "/migrations/" in relative
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.endswith(("records.models", "feeds.models"))
            ):
                imported = {alias.name for alias in node.names} & CHILD_DATA_MODELS
                if imported:
                    offenders.append((relative, sorted(imported)))
    assert offenders == []
