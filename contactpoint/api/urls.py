from collections.abc import Callable

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import search, subscriptions, views


def through_door[V: Callable](view: V) -> V:
    """Marks a view that shows child data as reading it through access.door (see test_one_door)."""
    view.uses_child_door = True  # type: ignore[attr-defined]
    return view


v1 = [
    # Before children/<id>: "search" is not a ContactPoint ID.
    path("children/search", through_door(search.ChildSearchApi.as_view()), name="children-search"),
    path("children/<str:id>", through_door(views.ChildRecordApi.as_view()), name="child"),
    path("children/<str:id>/carers", through_door(views.ChildCarersApi.as_view()), name="child-carers"),
    path(
        "children/<str:id>/involvements",
        through_door(views.ChildInvolvementsApi.as_view()),
        name="child-involvements",
    ),
    path(
        "children/<str:id>/involvements/<int:involvement_id>",
        through_door(views.ChildInvolvementApi.as_view()),
        name="child-involvement",
    ),
    path("children/<str:id>/address", through_door(views.ChildAddressApi.as_view()), name="child-address"),
    path(
        "children/<str:id>/emergency-lookups",
        through_door(subscriptions.EmergencyLookupsApi.as_view()),
        name="child-emergency-lookups",
    ),
    path("subscriptions", subscriptions.SubscriptionsApi.as_view(), name="subscriptions"),
    path("subscriptions/<int:subscription_id>", subscriptions.SubscriptionApi.as_view(), name="subscription"),
    path(
        "subscriptions/<int:subscription_id>/dead-letters",
        subscriptions.DeadLettersApi.as_view(),
        name="subscription-dead-letters",
    ),
    path(
        "subscriptions/<int:subscription_id>/dead-letters/<int:delivery_id>/retry",
        subscriptions.DeadLetterRetryApi.as_view(),
        name="subscription-dead-letter-retry",
    ),
    path("feeds/<slug:source>/files", views.FeedFilesApi.as_view(), name="feed-files"),
    path("feeds/tasks/<str:task_id>", views.FeedTaskApi.as_view(), name="feed-task"),
]

docs = [
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path(
        "docs/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="docs",
    ),
    path("docs/try/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs-try"),
]
