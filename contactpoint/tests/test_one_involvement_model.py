"""Cross-cutting (ADR 0014): the pages and the API record the same involvement, one per user and
child, through one service: the same rows, the same history, the same version check, the same
rules and messages."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from contactpoint.access.services import api_token_issue
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.records.models import Involvement
from contactpoint.records.selectors import users_source_code
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
ANSWERS = {
    "service_type": "early_help",
    "job_title": "Family support worker",
    "phone": "0113 555 0199",
    "email": "",
    "start_day": "6",
    "start_month": "1",
    "start_year": "2026",
    "lead": "no",
    "caf": "no",
}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def pages(world) -> Client:
    client = Client()
    sign_in_verified(client, world.practitioner)
    return client


def api(world) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=world.practitioner, name='case system')}",
        HTTP_X_ACCESS_REASON="Early help plan review",
    )
    return client


def involvements_url(world, involvement_id: int | None = None) -> str:
    base = f"/api/v1/children/{world.child.contactpoint_id}/involvements"
    return base if involvement_id is None else f"{base}/{involvement_id}"


def mine(world):
    """Every row of the practitioner's own involvement with the child, oldest first."""
    return Involvement.objects.filter(
        child=world.child,
        source__code=users_source_code(world.practitioner.profile.organisation),
        source_record_id=f"user-{world.practitioner.pk}-{world.child.contactpoint_id}",
    ).order_by("pk")


def version_on(html: str) -> str:
    found = re.search(r'name="version" value="([0-9a-f]*)"', html)
    assert found, "the form carries no version"
    return found.group(1)


def answer_on_pages(client: Client, world, answers: dict) -> str:
    """Question page (as a browser: with the version it was shown), then the check page's form."""
    cid = world.child.contactpoint_id
    question = client.get(reverse("web:involvement_edit", args=[cid])).content.decode()
    client.post(reverse("web:involvement_edit", args=[cid]), {**answers, "version": version_on(question)})
    return client.get(reverse("web:involvement_check", args=[cid])).content.decode()


def confirm_on_pages(client: Client, world, check_page: str) -> str:
    url = reverse("web:involvement_check", args=[world.child.contactpoint_id])
    return client.post(url, {"version": version_on(check_page)}).content.decode()


def patch(client: APIClient, url: str, body: dict, etag: str | None):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.patch(url, body, format="json", **headers)


def test_a_page_and_the_api_land_on_the_same_involvement(world):
    browser, system = pages(world), api(world)
    done = confirm_on_pages(browser, world, answer_on_pages(browser, world, ANSWERS))
    assert "Your involvement is recorded" in done
    [recorded] = mine(world)

    second_start = system.post(involvements_url(world), {"service_type": "early_help"}, format="json")
    assert second_start.status_code == 409 and str(recorded.pk) in second_start.json()["detail"]

    read = system.get(involvements_url(world, recorded.pk))
    assert read.status_code == 200 and read.json()["practitioner"]["phone"] == "0113 555 0199"
    changed = patch(system, involvements_url(world, recorded.pk), {"has_caf": True}, read["ETag"])
    assert changed.status_code == 200, changed.content

    rows = list(mine(world))
    assert [r.superseded_at is None for r in rows] == [False, True]
    assert [r.has_caf for r in rows] == [False, True]
    assert rows[1].practitioner == rows[0].practitioner  # the same person, still reachable
    question = browser.get(reverse("web:involvement_edit", args=[world.child.contactpoint_id]))
    assert _checked(question.content.decode(), "caf", "yes")  # the page shows the API's change


def _checked(html: str, name: str, value: str) -> bool:
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return any(f'value="{value}"' in tag and "checked" in tag for tag in inputs)


def test_an_api_start_is_the_involvement_the_pages_then_change(world):
    browser, system = pages(world), api(world)
    started = system.post(
        involvements_url(world), {"service_type": "early_help", "start_date": "2026-01-06"}, format="json"
    )
    assert started.status_code == 201, started.content
    check = answer_on_pages(browser, world, {**ANSWERS, "caf": "yes"})
    assert "Your involvement is recorded" in confirm_on_pages(browser, world, check)
    rows = list(mine(world))
    assert [r.superseded_at is None for r in rows] == [False, True]
    assert rows[0].pk == started.json()["id"] and rows[1].has_caf
    followed = system.get(involvements_url(world, started.json()["id"]))
    assert followed.status_code == 200 and followed.json()["id"] == rows[1].pk


def test_an_api_change_keeps_history_and_its_old_id_leads_to_the_new_row(world):
    system = api(world)
    created = system.post(involvements_url(world), {"service_type": "early_help"}, format="json").json()
    changed = patch(system, involvements_url(world, created["id"]), {"has_caf": True}, created["etag"])
    assert changed.status_code == 200
    body = changed.json()
    assert body["id"] != created["id"] and changed["Location"].endswith(involvements_url(world, body["id"]))
    old, new = mine(world)
    assert (old.pk, old.has_caf, old.superseded_at is not None) == (created["id"], False, True)
    assert (new.pk, new.has_caf, new.superseded_at) == (body["id"], True, None)

    by_old_id = system.get(involvements_url(world, created["id"]))
    assert by_old_id.status_code == 200 and by_old_id.json()["id"] == new.pk
    assert by_old_id["Content-Location"].endswith(involvements_url(world, new.pk))
    again = patch(
        system, involvements_url(world, created["id"]), {"is_lead_professional": False}, body["etag"]
    )
    assert again.status_code == 200  # the stored id still works with the current ETag
    event = AuditEvent.objects.filter(details__action="involvement_changed").order_by("pk").first()
    assert event.details["superseded"] == created["id"] and event.details["involvement"] == new.pk
    assert event.details["changed"] == ["has_caf"]


def test_a_stale_version_is_refused_on_both_paths(world):
    browser, system = pages(world), api(world)
    created = system.post(involvements_url(world), {"service_type": "early_help"}, format="json").json()

    check = answer_on_pages(browser, world, {**ANSWERS, "phone": "0113 555 0111"})  # read, then...
    changed = patch(system, involvements_url(world, created["id"]), {"has_caf": True}, created["etag"])
    assert changed.status_code == 200  # ...the case-management system changes it meanwhile
    refused = confirm_on_pages(browser, world, check)
    assert "This involvement changed since you started" in refused
    assert "Accept and record" not in refused
    assert [r.has_caf for r in mine(world)] == [False, True]  # nothing overwritten
    assert mine(world).last().practitioner.phone != "0113 555 0111"

    check = answer_on_pages(browser, world, {**ANSWERS, "phone": "0113 555 0111"})  # starting again works
    assert "Your involvement is recorded" in confirm_on_pages(browser, world, check)
    stale = patch(system, involvements_url(world, changed.json()["id"]), {"has_caf": False}, changed["ETag"])
    assert stale.status_code == 412
    assert mine(world).last().has_caf is False  # the page's answer, not overwritten either
    denied = AuditEvent.objects.filter(event_type=EventType.CHANGE, outcome=Outcome.DENIED)
    assert denied.count() == 2


def test_ending_on_the_pages_is_refused_after_an_api_change(world):
    browser, system = pages(world), api(world)
    created = system.post(
        involvements_url(world), {"service_type": "early_help", "start_date": "2026-01-06"}, format="json"
    ).json()
    cid = world.child.contactpoint_id
    end_page = browser.get(reverse("web:involvement_end", args=[cid])).content.decode()
    browser.post(
        reverse("web:involvement_end", args=[cid]),
        {"end_day": "2", "end_month": "2", "end_year": "2026", "version": version_on(end_page)},
    )
    check = browser.get(reverse("web:involvement_end_check", args=[cid])).content.decode()
    patch(system, involvements_url(world, created["id"]), {"has_caf": True}, created["etag"])
    refused = browser.post(reverse("web:involvement_end_check", args=[cid]), {"version": version_on(check)})
    assert "This involvement changed since you started" in refused.content.decode()
    assert mine(world).last().end_date is None


def test_the_rules_are_the_same_on_both_paths(world):
    browser, system = pages(world), api(world)
    # One lead professional: the child already has one (Leeds's social worker, from a feed).
    on_page = confirm_on_pages(browser, world, answer_on_pages(browser, world, {**ANSWERS, "lead": "yes"}))
    by_api = system.post(
        involvements_url(world), {"service_type": "early_help", "is_lead_professional": True}, format="json"
    )
    assert by_api.status_code == 409
    assert by_api.json()["detail"] in on_page.replace("&#39;", "'")
    assert not mine(world).exists()

    # A sensitive service only with its basis (the pages never offer one).
    sensitive = system.post(involvements_url(world), {"service_type": "mental_health"}, format="json")
    assert sensitive.status_code == 400
    assert "recorded by the providing service" in str(sensitive.json()["errors"])

    # No end before the start: the same sentence on the end page and from the API.
    created = system.post(
        involvements_url(world), {"service_type": "early_help", "start_date": "2026-02-01"}, format="json"
    ).json()
    too_early = patch(
        system, involvements_url(world, created["id"]), {"end_date": "2026-01-31"}, created["etag"]
    )
    assert too_early.status_code == 400
    message = "The end date must be on or after the start date, 1 February 2026."
    assert message in str(too_early.json()["errors"])
    end = reverse("web:involvement_end", args=[world.child.contactpoint_id])
    page = browser.post(end, {"end_day": "31", "end_month": "1", "end_year": "2026"}).content.decode()
    assert message in page
    assert [r.end_date for r in mine(world)] == [None]
