"""The permission matrix: every web page, by role and record state, with the expected answer.

Each role's row is compared whole, so a failure lists every cell that changed. Cells that show a
record also say what it showed: "full" (a shielded child's hidden fields are there), "restricted"
(they are not), and whether a sensitive service (s31 basis, another provider) was listed.
"""

import datetime
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone

from contactpoint.access.models import Shield
from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.models import ReviewItem
from contactpoint.records.models import OrganisationKind, SensitiveBasis, ServiceType
from contactpoint.records.tests.factories import ChildFactory, InvolvementFactory, OrganisationFactory
from contactpoint.retention.models import ArchiveBasis, ChildRetention, RetentionState
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
REASON = {"reason": "safeguarding", "details": ""}
SEARCH = {"family_name": "Khan", "dob_day": "14", "dob_month": "3", "dob_year": "2015"}
SHIELDED_POSTCODE = "LS7 3AA"  # the shielded child's address in the world
SENSITIVE_SERVICE = "Sexual health"
ROLES = ("practitioner", "la_management", "national_partner", "data_manager", "auditor")


@dataclass(frozen=True)
class Cell:
    page: str
    state: str
    method: str = "get"


CELLS = (
    Cell("home", "-"),
    Cell("search", "-"),
    Cell("record", "unshielded", "post"),
    Cell("record", "shielded", "post"),
    Cell("record", "sensitive", "post"),
    Cell("record", "other area shielded", "post"),
    Cell("record", "unknown id", "post"),
    Cell("record", "archived", "post"),
    Cell("search", "archived"),
    Cell("record", "archived, left scope", "post"),
    Cell("search", "archived, left scope"),
    Cell("break glass", "shielded"),
    Cell("my involvement", "unshielded"),
    Cell("my involvement", "archived"),
    Cell("shield reviews", "-"),
    Cell("shield review", "own area"),
    Cell("shield review", "other area"),
    Cell("shield a child", "-"),
    Cell("users", "-"),
    Cell("create a user", "-"),
    Cell("user", "own area"),
    Cell("user", "other area"),
    Cell("feed loads", "-"),
    Cell("quarantine", "-"),
    Cell("send a feed file", "national source"),
    Cell("linkage review queue", "-"),
    Cell("linkage review pair", "in area"),
    Cell("linkage merges", "-"),
    Cell("data quality", "-"),
    Cell("audit", "-"),
    Cell("misuse alerts", "-"),
    Cell("my activity", "-"),
    Cell("sign-in security", "-"),
    Cell("notifications", "-"),
    Cell("notification settings", "-"),
    Cell("emergency lookups", "-"),
    Cell("subject access", "own area"),
    Cell("subject access", "other area"),
    Cell("subject access export", "own area", "post"),
    Cell("subject access export", "other area", "post"),
    Cell("retention consent", "own area"),
    Cell("retention consent", "other area"),
    Cell("record a death", "own area"),
    Cell("record a death", "other area"),
    Cell("record a correction", "own area"),
    Cell("record a correction", "other area"),
)

# One column per role, in ROLES order.
EXPECTED = {
    Cell("home", "-"): ("200", "200", "200", "200", "200"),
    Cell("search", "-"): ("200", "200", "200", "200", "403"),
    Cell("record", "unshielded", "post"): ("200", "200", "200", "403", "403"),
    Cell("record", "shielded", "post"): ("200 restricted", "200 full", "200 restricted", "403", "403"),
    Cell("record", "sensitive", "post"): (
        "200 sensitive hidden",
        "200 sensitive shown",
        "200 sensitive hidden",
        "403",
        "403",
    ),
    Cell("record", "other area shielded", "post"): (
        "200 restricted",
        "200 restricted",
        "200 restricted",
        "403",
        "403",
    ),
    Cell("record", "unknown id", "post"): ("404", "404", "404", "404", "404"),
    # Archived (domain rules, section 7): ordinary users never; data managers in the record's first
    # year (the only records they open); a review ground after that goes through the API, which
    # takes it in a header (test_permission_matrix_api).
    Cell("record", "archived", "post"): ("403", "403", "403", "200", "403"),
    Cell("search", "archived"): ("200 not found", "200 not found", "200 not found", "200 found", "403"),
    # A targeted deployment's child no longer known to services: the same archive, the same rules.
    Cell("record", "archived, left scope", "post"): ("403", "403", "403", "200", "403"),
    Cell("search", "archived, left scope"): (
        "200 not found",
        "200 not found",
        "200 not found",
        "200 found",
        "403",
    ),
    Cell("break glass", "shielded"): ("403", "200", "403", "403", "403"),
    Cell("my involvement", "unshielded"): ("200", "403", "403", "403", "403"),
    Cell("my involvement", "archived"): ("403", "403", "403", "403", "403"),  # closed to changes
    Cell("shield reviews", "-"): ("403", "200", "403", "403", "403"),
    Cell("shield review", "own area"): ("403", "200", "403", "403", "403"),
    Cell("shield review", "other area"): ("403", "404", "403", "403", "403"),
    Cell("shield a child", "-"): ("403", "200", "403", "403", "403"),
    Cell("users", "-"): ("403", "200", "403", "403", "403"),
    Cell("create a user", "-"): ("403", "200", "403", "403", "403"),
    Cell("user", "own area"): ("403", "200", "403", "403", "403"),
    Cell("user", "other area"): ("403", "404", "403", "403", "403"),
    Cell("feed loads", "-"): ("403", "200", "403", "200", "403"),
    Cell("quarantine", "-"): ("403", "200", "403", "200", "403"),
    Cell("send a feed file", "national source"): ("403", "403", "403", "403", "403"),
    Cell("linkage review queue", "-"): ("403", "200", "403", "200", "403"),
    Cell("linkage review pair", "in area"): ("403", "200", "403", "200", "403"),
    Cell("linkage merges", "-"): ("403", "200", "403", "200", "403"),
    Cell("data quality", "-"): ("403", "200", "403", "200", "403"),
    Cell("audit", "-"): ("403", "200", "403", "403", "200"),
    Cell("misuse alerts", "-"): ("403", "200", "403", "403", "200"),
    Cell("my activity", "-"): ("200", "200", "200", "200", "200"),
    Cell("sign-in security", "-"): ("200", "200", "200", "200", "200"),
    Cell("notifications", "-"): ("200", "200", "200", "200", "200"),
    Cell("notification settings", "-"): ("200", "200", "200", "200", "200"),
    Cell("emergency lookups", "-"): ("403", "200", "403", "403", "403"),
    # Acts on a child's whole record belong to the team of the authority responsible for the child
    # (access.policies.responsible_for_child): the world's child lives in Leeds; the other child is
    # shielded by Manchester.
    Cell("subject access", "own area"): ("403", "200", "403", "403", "403"),
    Cell("subject access", "other area"): ("403", "403", "403", "403", "403"),
    Cell("subject access export", "own area", "post"): ("403", "200", "403", "403", "403"),
    Cell("subject access export", "other area", "post"): ("403", "403", "403", "403", "403"),
    Cell("retention consent", "own area"): ("403", "200", "403", "403", "403"),
    Cell("retention consent", "other area"): ("403", "403", "403", "403", "403"),
    Cell("record a death", "own area"): ("403", "200", "403", "403", "403"),
    Cell("record a death", "other area"): ("403", "403", "403", "403", "403"),
    Cell("record a correction", "own area"): ("403", "200", "403", "403", "403"),
    Cell("record a correction", "other area"): ("403", "403", "403", "403", "403"),
}


def test_every_web_page_is_in_the_matrix():
    from contactpoint.tests.test_one_door import all_views

    pages = {name for _route, name, _cb in all_views() if name.startswith("contactpoint.web.")}
    covered = {
        "contactpoint.web.views.home",
        "contactpoint.web.views.search",
        "contactpoint.web.record_views.child_open",
        "contactpoint.web.record_views.child_break_glass",
        "contactpoint.web.involvement_views.involvement_edit",
        "contactpoint.web.shield_views.shields",
        "contactpoint.web.shield_views.shield_review",
        "contactpoint.web.views.activity",
        "contactpoint.web.linkage_views.review_queue",
        "contactpoint.web.linkage_views.review_item",
        "contactpoint.web.linkage_views.merges",
        "contactpoint.web.linkage_views.quality",
        "contactpoint.web.shield_views.shield_new",
        "contactpoint.web.user_views.users",
        "contactpoint.web.user_views.user_new",
        "contactpoint.web.user_views.user_detail",
        "contactpoint.web.feed_views.loads",
        "contactpoint.web.feed_views.quarantine",
        "contactpoint.web.feed_views.resend",
        "contactpoint.web.notification_views.notifications",
        "contactpoint.web.notification_views.notification_settings",
        "contactpoint.web.notification_views.emergency_lookups",
        "contactpoint.web.retention_views.retention_consent",
        "contactpoint.web.retention_views.child_death",
        "contactpoint.web.retention_views.correction",
    }
    # The involvement steps after the first share its permission check; health answers everyone.
    follow_on = {
        "contactpoint.web.involvement_views.involvement_check",
        "contactpoint.web.involvement_views.involvement_end",
        "contactpoint.web.involvement_views.involvement_end_check",
        "contactpoint.web.views.healthz",
        # Linkage review: the decision check and a merge's undo share their first page's check.
        "contactpoint.web.linkage_views.review_check",
        "contactpoint.web.linkage_views.merge_split",
        # A user's vetting and status pages share the user page's check (test_user_pages).
        "contactpoint.web.user_views.user_vetting",
        "contactpoint.web.user_views.user_status",
        # One load's report shares the load list's check (test_feed_pages).
        "contactpoint.web.feed_views.load",
    }
    assert pages - covered - follow_on == set()


@pytest.fixture
def world(tmp_path):
    built = build_world(tmp_path)
    provider = OrganisationFactory(kind=OrganisationKind.SERVICE_PROVIDER, code="SH1", name="Clinic")
    InvolvementFactory(
        child=built.child,
        organisation=provider,
        service_type=ServiceType.SEXUAL_HEALTH,
        is_sensitive=True,
        sensitive_basis=SensitiveBasis.SIGNIFICANT_HARM,
    )
    elsewhere = ChildFactory()
    manchester = built.other_team.profile.local_authority
    other_shield = Shield.objects.create(
        child=elsewhere,
        local_authority=manchester,
        reason="Witness protection",
        created_by=built.other_team,
        review_due="2030-01-01",
    )
    pair = sorted([built.child, built.shielded], key=lambda c: c.pk)  # the child is known in Leeds
    ReviewItem.objects.create(
        child_a=pair[0],
        child_b=pair[1],
        record_a=SourceRecord.objects.filter(child=pair[0]).first(),
        record_b=SourceRecord.objects.filter(child=pair[1]).first(),
        evidence=12.0,
        weights={"given_name": ["different", -8.0]},
        reason="between the review and automatic thresholds",
        model_version="test",
    )
    return built, elsewhere, other_shield


def _request(client, cell: Cell, world) -> str:
    built, elsewhere, other_shield = world
    if cell.state.startswith("archived"):
        archived = ChildRetention.objects.create(
            child=built.child,
            state=RetentionState.ARCHIVED,
            archived_on=timezone.localdate() - datetime.timedelta(days=10),
            archive_basis=ArchiveBasis.LEFT_SCOPE if "left scope" in cell.state else ArchiveBasis.AGE_18,
        )
        try:
            if cell.page == "search":
                return _search_finds(client, built.child)
            return _request(client, Cell(cell.page, "unshielded", cell.method), world)
        finally:
            archived.delete()
    own_shield = Shield.objects.get(child=built.shielded, ended_at__isnull=True)
    child_id = {
        "unshielded": built.child.contactpoint_id,
        "sensitive": built.child.contactpoint_id,
        "shielded": built.shielded.contactpoint_id,
        "other area shielded": elsewhere.contactpoint_id,
        "unknown id": "CP000000000000X",
        "other area": elsewhere.contactpoint_id,
    }.get(cell.state, built.child.contactpoint_id)
    url = {
        "home": lambda: reverse("web:home"),
        "search": lambda: reverse("web:search"),
        "record": lambda: reverse("web:child", args=[child_id]),
        "break glass": lambda: reverse("web:break_glass", args=[child_id]),
        "my involvement": lambda: reverse("web:involvement_edit", args=[child_id]),
        "shield reviews": lambda: reverse("web:shields"),
        "shield review": lambda: reverse(
            "web:shield_review", args=[own_shield.pk if cell.state == "own area" else other_shield.pk]
        ),
        "shield a child": lambda: reverse("web:shield_new"),
        "users": lambda: reverse("web:users"),
        "create a user": lambda: reverse("web:user_new"),
        "user": lambda: reverse(
            "web:user",
            args=[built.practitioner.pk if cell.state == "own area" else built.other_team.pk],
        ),
        "feed loads": lambda: reverse("web:feeds"),
        "quarantine": lambda: reverse("web:quarantine"),
        "send a feed file": lambda: reverse("web:feed_resend", args=["gp_registration"]),
        "linkage review queue": lambda: reverse("web:review_queue"),
        "linkage review pair": lambda: reverse("web:review_item", args=[ReviewItem.objects.get().pk]),
        "linkage merges": lambda: reverse("web:merges"),
        "data quality": lambda: reverse("web:quality"),
        "audit": lambda: reverse("audit:index"),
        "misuse alerts": lambda: reverse("audit:alerts"),
        "my activity": lambda: reverse("web:activity"),
        "sign-in security": lambda: reverse("account:security"),
        "notifications": lambda: reverse("web:notifications"),
        "notification settings": lambda: reverse("web:notification_settings"),
        "emergency lookups": lambda: reverse("web:emergency_lookups"),
        "subject access": lambda: reverse("subject_access:export", args=[child_id]),
        "subject access export": lambda: reverse("subject_access:export", args=[child_id]),
        "retention consent": lambda: reverse("web:retention_consent", args=[child_id]),
        "record a death": lambda: reverse("web:child_death", args=[child_id]),
        "record a correction": lambda: reverse("web:correction", args=[child_id]),
    }[cell.page]()
    data = {"reference": "SAR 2026/7", "output": "json"} if cell.page == "subject access export" else REASON
    response = client.post(url, data) if cell.method == "post" else client.get(url)
    answer = str(response.status_code)
    page = response.content.decode()
    if (
        response.status_code == 200
        and cell.page == "record"
        and cell.state in ("shielded", "other area shielded")
    ):
        restricted = "Shielded record" in page
        if cell.state == "shielded":  # the banner and the hidden address agree
            assert restricted != (SHIELDED_POSTCODE in page)
        answer += " restricted" if restricted else " full"
    if response.status_code == 200 and cell.page == "record" and cell.state == "sensitive":
        answer += " sensitive shown" if SENSITIVE_SERVICE in page else " sensitive hidden"
    return answer


def _search_finds(client, child) -> str:
    response = client.post(reverse("web:search"), SEARCH)
    if response.status_code != 200:
        return str(response.status_code)
    return "200 found" if child.contactpoint_id in response.content.decode() else "200 not found"


@pytest.mark.parametrize("role", ROLES)
def test_the_matrix_for_each_role(client, world, role):
    built = world[0]
    user = {"la_management": built.team, "practitioner": built.practitioner}.get(role)
    if user is None:
        user = make_user(f"matrix-{role}", role, organisation="383").user
    sign_in_verified(client, user)
    column = ROLES.index(role)
    actual = {cell: _request(client, cell, world) for cell in CELLS}
    expected = {cell: EXPECTED[cell][column] for cell in CELLS}
    assert actual == expected
