from django.contrib.auth import views as auth_views
from django.urls import path

from contactpoint.access.forms import VettedAuthenticationForm

from . import (
    feed_views,
    involvement_views,
    linkage_views,
    notification_views,
    record_views,
    retention_views,
    shield_views,
    user_views,
    views,
)

app_name = "web"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(
            template_name="web/sign_in.html", authentication_form=VettedAuthenticationForm
        ),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("children/search/", views.search, name="search"),
    path("children/<str:contactpoint_id>/", record_views.child_open, name="child"),
    path("children/<str:contactpoint_id>/override/", record_views.child_break_glass, name="break_glass"),
    path(
        "children/<str:contactpoint_id>/my-involvement/",
        involvement_views.involvement_edit,
        name="involvement_edit",
    ),
    path(
        "children/<str:contactpoint_id>/my-involvement/check/",
        involvement_views.involvement_check,
        name="involvement_check",
    ),
    path(
        "children/<str:contactpoint_id>/my-involvement/end/",
        involvement_views.involvement_end,
        name="involvement_end",
    ),
    path(
        "children/<str:contactpoint_id>/my-involvement/end/check/",
        involvement_views.involvement_end_check,
        name="involvement_end_check",
    ),
    path(
        "children/<str:contactpoint_id>/retention-consent/",
        retention_views.retention_consent,
        name="retention_consent",
    ),
    path("children/<str:contactpoint_id>/death/", retention_views.child_death, name="child_death"),
    path("children/<str:contactpoint_id>/correction/", retention_views.correction, name="correction"),
    path("activity/", views.activity, name="activity"),
    path("notifications/", notification_views.notifications, name="notifications"),
    path("notifications/settings/", notification_views.notification_settings, name="notification_settings"),
    path("emergency-lookups/", notification_views.emergency_lookups, name="emergency_lookups"),
    path("shields/", shield_views.shields, name="shields"),
    path("shields/new/", shield_views.shield_new, name="shield_new"),
    path("shields/<int:pk>/review/", shield_views.shield_review, name="shield_review"),
    path("users/", user_views.users, name="users"),
    path("users/new/", user_views.user_new, name="user_new"),
    path("users/<int:pk>/", user_views.user_detail, name="user"),
    path("users/<int:pk>/vetting/", user_views.user_vetting, name="user_vetting"),
    path("users/<int:pk>/status/", user_views.user_status, name="user_status"),
    path("feeds/", feed_views.loads, name="feeds"),
    path("feeds/<int:pk>/", feed_views.load, name="feed_load"),
    path("feeds/quarantine/", feed_views.quarantine, name="quarantine"),
    path("feeds/sources/<slug:source>/send/", feed_views.resend, name="feed_resend"),
    path("linkage/review/", linkage_views.review_queue, name="review_queue"),
    path("linkage/review/<int:pk>/", linkage_views.review_item, name="review_item"),
    path("linkage/review/<int:pk>/check/", linkage_views.review_check, name="review_check"),
    path("linkage/merges/", linkage_views.merges, name="merges"),
    path("linkage/merges/<int:pk>/undo/", linkage_views.merge_split, name="merge_undo"),
    path("linkage/quality/", linkage_views.quality, name="quality"),
    path("", views.home, name="home"),
]
