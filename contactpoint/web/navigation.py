"""The service navigation: each entry appears only to users whose role grants its permission.

Management-team pages (linkage review, misuse alerts, audit reports, data quality) join by
adding an entry here with the permission that opens them.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from contactpoint.access import permissions as p
from contactpoint.access.models import Profile
from contactpoint.notifications.selectors import unread_count


@dataclass(frozen=True)
class NavEntry:
    text: str
    url_name: str
    permission: str | None  # None: every signed-in user
    also: tuple[str, ...] = ()  # other permissions that show it too


ENTRIES: tuple[NavEntry, ...] = (
    NavEntry("Home", "web:home", None),
    NavEntry("Find a child", "web:search", p.SEARCH_CHILDREN),
    NavEntry("Notifications", "web:notifications", None),
    NavEntry("Shield reviews", "web:shields", p.MANAGE_SHIELDING),
    NavEntry("Users", "web:users", p.MANAGE_USERS),
    NavEntry("Emergency lookups", "web:emergency_lookups", p.MANAGE_SHIELDING),
    NavEntry("Linkage review", "web:review_queue", p.REVIEW_LINKAGE),
    NavEntry("Feed loads", "web:feeds", p.MANAGE_FEEDS, also=(p.READ_FEED_REPORTS_AREA,)),
    NavEntry("Data quality", "web:quality", p.REVIEW_LINKAGE, also=(p.MANAGE_FEEDS,)),
    NavEntry("My recent activity", "web:activity", None),
    NavEntry("Sign-in security", "account:security", None),
)


def navigation_for(request: HttpRequest) -> list[dict[str, object]]:
    """Items for GOV.UK's service navigation component, the current page marked active."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "is_verified", lambda: False)():
        return []
    profile = Profile.objects.select_related("role").filter(user_id=user.pk).first()
    granted = set(profile.role.permissions) if profile else set()
    items: list[dict[str, object]] = []
    for entry in ENTRIES:
        if entry.permission is not None and not {entry.permission, *entry.also} & granted:
            continue
        href = reverse(entry.url_name)
        text = entry.text
        if entry.url_name == "web:notifications" and (unread := unread_count(user_id=user.pk)):
            text = f"{text} ({unread} new)"
        active = request.path == href or (href != "/" and request.path.startswith(href))
        items.append({"href": href, "text": text, "active": active})
    return items
