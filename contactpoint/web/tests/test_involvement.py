"""Recording, changing and ending one's own involvement: question, check your answers, confirmation."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from contactpoint.access.actors import Actor
from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.records.models import Involvement
from contactpoint.records.services import ChangeConflict, InvolvementAnswers, own_involvement_record
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
ANSWERS = {
    "service_type": "health_visiting",
    "job_title": "Health visitor",
    "phone": "0113 555 0101",
    "email": "jo.health@example.nhs.uk",
    "start_day": "6",
    "start_month": "1",
    "start_year": "2026",
    "lead": "no",
    "caf": "yes",
}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def _mine(world):
    return Involvement.objects.filter(child=world.child, source_record_id__startswith="user-")


def test_question_then_check_your_answers_then_recorded_and_shown_to_others(client, world):
    sign_in_verified(client, world.practitioner)
    child_id = world.child.contactpoint_id
    edit = reverse("web:involvement_edit", args=[child_id])
    assert "Your involvement with this child" in client.get(edit).content.decode()

    checked = client.post(edit, ANSWERS)
    assert checked["Location"] == reverse("web:involvement_check", args=[child_id])
    answers_page = client.get(checked["Location"]).content.decode()
    assert "Check your answers" in answers_page and "Health visiting" in answers_page
    assert "6 January 2026" in answers_page and not _mine(world).exists()  # nothing saved yet

    done = client.post(checked["Location"]).content.decode()
    assert "Your involvement is recorded" in done
    [mine] = _mine(world)
    assert (mine.service_type, mine.has_caf, mine.is_lead_professional) == ("health_visiting", True, False)
    assert mine.practitioner.phone == "0113 555 0101"
    event = AuditEvent.objects.get(event_type=EventType.CHANGE, child_ids=[child_id])
    assert event.details["action"] == "involvement_started" and event.actor_username == "practitioner-383"

    # Another practitioner sees it under "who else is working with this child".
    colleague = make_user("colleague-383").user
    client.force_login(colleague)
    sign_in_verified(client, colleague)
    record = client.post(reverse("web:child", args=[child_id]), {"reason": "contact"}).content.decode()
    assert "0113 555 0101" in record and "Health visitor" in record


def test_the_question_page_says_what_to_fix_and_keeps_the_answers(client, world):
    sign_in_verified(client, world.practitioner)
    edit = reverse("web:involvement_edit", args=[world.child.contactpoint_id])
    html = client.post(edit, {**ANSWERS, "phone": "", "email": "", "start_month": "13"}).content.decode()
    assert "There is a problem" in html
    assert "Enter a phone number or an email address" in html
    assert "Start date must be a real date" in html
    assert 'value="Health visitor"' in html
    assert not _mine(world).exists()


def test_a_second_lead_professional_is_refused_with_the_reason(client, world):
    sign_in_verified(client, world.practitioner)
    child_id = world.child.contactpoint_id
    client.post(reverse("web:involvement_edit", args=[child_id]), {**ANSWERS, "lead": "yes"})
    refused = client.post(reverse("web:involvement_check", args=[child_id])).content.decode()
    assert "already recorded as this child" in refused and "lead professional" in refused
    assert not _mine(world).exists()


def test_changing_then_ending_keeps_the_history(client, world):
    sign_in_verified(client, world.practitioner)
    child_id = world.child.contactpoint_id
    client.post(reverse("web:involvement_edit", args=[child_id]), ANSWERS)
    client.post(reverse("web:involvement_check", args=[child_id]))
    prefilled = client.get(reverse("web:involvement_edit", args=[child_id])).content.decode()
    assert 'value="0113 555 0101"' in prefilled
    client.post(reverse("web:involvement_edit", args=[child_id]), {**ANSWERS, "caf": "no"})
    client.post(reverse("web:involvement_check", args=[child_id]))

    end = reverse("web:involvement_end", args=[child_id])
    too_early = client.post(end, {"end_day": "1", "end_month": "1", "end_year": "2026"}).content.decode()
    assert "on or after the start date, 6 January 2026" in too_early
    assert client.post(end, {"end_day": "2", "end_month": "2", "end_year": "2026"}).status_code == 302
    done = client.post(reverse("web:involvement_end_check", args=[child_id])).content.decode()
    assert "Your involvement has ended" in done

    rows = list(_mine(world).order_by("pk"))
    assert [r.superseded_at is None for r in rows] == [False, False, True]
    assert [r.has_caf for r in rows] == [True, False, False]
    assert rows[-1].end_date == datetime.date(2026, 2, 2)
    assert client.get(end).status_code == 404  # nothing current left to end


def test_the_service_refuses_sensitive_services_without_a_basis_and_roles_that_cannot_record(world):
    practitioner = Actor.for_user(world.practitioner)
    with pytest.raises(ValidationError, match="recorded by the providing service"):
        own_involvement_record(
            actor=practitioner,
            child=world.child,
            changes=InvolvementAnswers(
                service_type="mental_health", start_date=datetime.date(2026, 1, 1)
            ).as_changes(),
            expected_version="",
        )
    auditor = Actor.for_user(make_user("auditor-1", "auditor").user)
    with pytest.raises(PermissionDenied):
        own_involvement_record(
            actor=auditor,
            child=world.child,
            changes={"end_date": datetime.date(2026, 1, 1)},
            expected_version="",
        )
    with pytest.raises(ChangeConflict, match="no current involvement"):
        own_involvement_record(
            actor=practitioner,
            child=world.child,
            changes={"end_date": datetime.date(2026, 1, 1)},
            expected_version="",
        )
    refused = AuditEvent.objects.filter(event_type=EventType.CHANGE, outcome="denied")
    assert refused.count() == 3 and not _mine(world).exists()
