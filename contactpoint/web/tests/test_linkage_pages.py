"""The management team's linkage pages without a browser: queue, pair, decision, merges, quality."""

import pytest
from django.urls import reverse

from contactpoint.access.actors import Actor
from contactpoint.access.services import shield_add
from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.linkage.models import ChildMerge, ReviewItem, ReviewStatus
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import InvolvementFactory
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
NOAH = {"given_name": "Noah", "family_name": "Briggs", "date_of_birth": "2014-05-05", "postcode": "LS8 1AA"}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


@pytest.fixture
def item(world, tmp_path) -> ReviewItem:
    """Two records alike in everything but their NHS numbers: the guard sends them to review.
    One of them is known to a service in Leeds (383), so Leeds's team may review the pair."""
    load(tmp_path, "gp_registration", [person("N1", nhs_number="9434765919", **NOAH)])
    load(tmp_path, "child_benefit", [person("N2", nhs_number="9434765870", **NOAH)])
    link_run()
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    InvolvementFactory(child=child_of("gp_registration", "N1"), organisation=leeds)
    return ReviewItem.objects.get(status=ReviewStatus.OPEN, reason="different NHS numbers")


@pytest.fixture
def data_manager():
    return make_user("data-manager", "data_manager", organisation="352").user


def _as(client, user):
    sign_in_verified(client, user)
    return client


def _decide(client, item, decision):
    answered = client.post(reverse("web:review_item", args=[item.pk]), {"decision": decision})
    assert answered.status_code == 302 and answered["Location"] == reverse("web:review_check", args=[item.pk])
    check = client.get(answered["Location"]).content.decode()
    assert "Check your decision" in check and item.child_a.contactpoint_id in check
    return client.post(reverse("web:review_check", args=[item.pk]))


@pytest.mark.parametrize(
    "name", ["web:review_queue", "web:merges", "web:quality", "web:review_item", "web:review_check"]
)
def test_practitioners_may_not_open_the_linkage_pages(client, world, item, name):
    _as(client, world.practitioner)
    args = [item.pk] if name in ("web:review_item", "web:review_check") else []
    assert client.get(reverse(name, args=args)).status_code == 403
    assert not AuditEvent.objects.filter(event_type=EventType.VIEW, details__review_item=item.pk).exists()


def test_the_queue_shows_the_reason_and_evidence_to_the_area_team_and_data_managers_only(
    client, world, item, data_manager
):
    ids = f"{item.child_a.contactpoint_id} and {item.child_b.contactpoint_id}"
    html = _as(client, world.team).get(reverse("web:review_queue")).content.decode()
    assert ids in html and "Different NHS numbers" in html and f"{item.evidence:.1f}" in html
    assert "Noah" not in html  # the queue shows no child's details
    assert "Linkage review" in html and reverse("web:quality") in html  # navigation

    html = _as(client, world.other_team).get(reverse("web:review_queue")).content.decode()
    assert ids not in html and "No pairs are waiting" in html
    assert client.get(reverse("web:review_item", args=[item.pk])).status_code == 404

    html = _as(client, data_manager).get(reverse("web:review_queue")).content.decode()
    assert ids in html and "every area" in html


def test_the_queue_is_paginated_oldest_first(client, world, item, monkeypatch):
    later = ReviewItem.objects.create(
        **{
            name: getattr(item, name)
            for name in ("record_a", "record_b", "evidence", "weights", "reason", "model_version")
        },
        child_a=min(world.child, world.shielded, key=lambda c: c.pk),
        child_b=max(world.child, world.shielded, key=lambda c: c.pk),
    )
    monkeypatch.setattr("contactpoint.web.linkage_views.PAGE_SIZE", 1)
    _as(client, world.team)
    count = ReviewItem.objects.filter(status=ReviewStatus.OPEN).count()
    first = client.get(reverse("web:review_queue")).content.decode()
    assert f"page 1 of {count}" in first and "?page=2" in first
    assert reverse("web:review_item", args=[item.pk]) in first
    last = client.get(reverse("web:review_queue"), {"page": count}).content.decode()
    assert reverse("web:review_item", args=[later.pk]) in last and "?page=1" not in first


def test_a_pair_shows_both_children_and_the_weights_chart_and_is_audited(client, world, item):
    html = _as(client, world.team).get(reverse("web:review_item", args=[item.pk])).content.decode()
    assert html.count("Noah Briggs") >= 2 and "LS8 1AA" in html
    assert "NHS number" in html and "Different" in html and "cp-bar--against" in html
    assert "cp-bar--for" in html and 'style="' not in html  # widths by class: the CSP forbids inline styles
    assert "9434765919" not in html and "9434765870" not in html  # identifiers as present, not values
    [event] = AuditEvent.objects.filter(event_type=EventType.VIEW, details__review_item=item.pk)
    assert event.reason == "linkage review" and event.actor_username == "team-383"
    assert sorted(event.child_ids) == sorted([item.child_a.contactpoint_id, item.child_b.contactpoint_id])


def test_a_shielded_childs_address_is_hidden_from_reviewers_who_cannot_see_through_the_shield(
    client, world, item, data_manager
):
    shield_add(child=item.child_a, actor=Actor.for_user(world.team), reason="Refuge")
    html = _as(client, data_manager).get(reverse("web:review_item", args=[item.pk])).content.decode()
    assert "Hidden (shielded)" in html and "Shielded" in html
    html = _as(client, world.team).get(reverse("web:review_item", args=[item.pk])).content.decode()
    assert "Hidden (shielded)" not in html and "LS8 1AA" in html


def test_a_decision_without_an_answer_is_an_error_and_decides_nothing(client, world, item):
    _as(client, world.team)
    page = client.post(reverse("web:review_item", args=[item.pk]), {})
    html = page.content.decode()
    assert page.status_code == 200
    assert "There is a problem" in html and 'href="#id_decision"' in html
    assert "Select whether these records are about the same child" in html
    assert client.get(reverse("web:review_check", args=[item.pk])).status_code == 302  # nothing pending
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN


def test_different_children_is_kept_and_audited(client, world, item):
    done = _decide(_as(client, world.team), item, "different").content.decode()
    assert "Kept apart" in done
    item.refresh_from_db()
    assert item.status == ReviewStatus.KEPT_APART and item.decided_by == world.team
    [event] = AuditEvent.objects.filter(event_type=EventType.ADMIN, details__review_item=item.pk)
    assert event.details["decision"] == "different_children" and event.actor_username == "team-383"
    assert not ChildMerge.objects.exists()
    again = client.post(reverse("web:review_item", args=[item.pk]), {"decision": "same"})
    assert again.status_code == 200 and "has been decided" in again.content.decode()  # no second decision


def test_merge_then_undo_round_trips_through_the_pages(client, world, item):
    a, b = item.child_a, item.child_b
    records_before = {
        srid: child_of(src, srid) for src, srid in (("gp_registration", "N1"), ("child_benefit", "N2"))
    }
    done = _decide(_as(client, world.team), item, "same").content.decode()
    assert "Children merged" in done
    merge = ChildMerge.objects.get(undone_at__isnull=True, merged=b)
    assert merge.survivor == a and child_of("child_benefit", "N2") == child_of("gp_registration", "N1")
    assert AuditEvent.objects.filter(event_type=EventType.MERGE, details__merge=merge.pk).exists()
    decision = AuditEvent.objects.get(event_type=EventType.ADMIN, details__review_item=item.pk)
    assert decision.details["decision"] == "same_child"

    listed = client.get(reverse("web:merges")).content.decode()
    assert reverse("web:merge_undo", args=[merge.pk]) in listed and b.contactpoint_id in listed

    url = reverse("web:merge_undo", args=[merge.pk])
    refused = client.post(url, {"reason": "   "})
    assert (
        refused.status_code == 200
        and "Enter why these are two different children" in refused.content.decode()
    )
    merge.refresh_from_db()
    assert merge.undone_at is None

    undone = client.post(url, {"reason": "Twins: the GP confirmed two children"}, follow=True)
    assert "Merge undone" in undone.content.decode()
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == world.team
    assert {
        srid: child_of(src, srid) for src, srid in (("gp_registration", "N1"), ("child_benefit", "N2"))
    } == (records_before)
    unmerge = AuditEvent.objects.get(event_type=EventType.UNMERGE, details__merge=merge.pk)
    assert unmerge.reason == "Twins: the GP confirmed two children"
    assert client.get(url).status_code == 404  # an undone merge cannot be undone again


def test_the_quality_dashboard_for_reviewers_and_data_managers(client, world, item, data_manager):
    for user in (world.team, data_manager):
        html = _as(client, user).get(reverse("web:quality")).content.decode()
        assert "Match rate by source" in html and "gp_registration" in html
        assert "Share with an NHS number" in html and "Estimated wrong automatic links" in html
        assert "cp-bar--" in html and 'style="' not in html
    auditor = make_user("auditor", "auditor").user
    assert _as(client, auditor).get(reverse("web:quality")).status_code == 403


def test_deciding_needs_a_recent_second_factor(client, world, item):
    from contactpoint.access.mfa import SECOND_FACTOR_AT

    _as(client, world.team)
    client.post(reverse("web:review_item", args=[item.pk]), {"decision": "same"})
    session = client.session
    session[SECOND_FACTOR_AT] = 0  # passed long ago: the desk may have been left
    session.save()
    answer = client.post(reverse("web:review_check", args=[item.pk]))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("account:confirm"))
    item.refresh_from_db()
    assert item.status == ReviewStatus.OPEN and not ChildMerge.objects.exists()
