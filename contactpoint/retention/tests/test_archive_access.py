"""Archive access through the one door: who may open an archived record, when, and on what ground."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contactpoint.access.door import child_record_for
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.retention.models import ChildRetention, RetentionState
from contactpoint.retention.selectors import ChildArchived
from contactpoint.search.selectors import SearchCriteria, children_search

from .helpers import BORN, child, index

pytestmark = pytest.mark.django_db
REASON = "Section 47 enquiry 2026/118"


@pytest.fixture
def la(tmp_path):
    index(tmp_path)
    return Organisation.objects.create(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Leeds")


def archive(srid: str, days_ago: int):
    ChildRetention.objects.create(
        child=child(srid),
        state=RetentionState.ARCHIVED,
        archived_on=timezone.localdate() - datetime.timedelta(days=days_ago),
        archive_basis="age_18",
    )


def opens(actor, srid, basis=""):
    return child_record_for(actor, child(srid), reason=REASON, archive_basis=basis)


def found(actor, given="Ivy", family="Quennell"):
    result = children_search(
        actor=actor, criteria=SearchCriteria(given_name=given, family_name=family, date_of_birth=BORN)
    )
    return [h.id for h in result.hits]


def last_view():
    return AuditEvent.objects.filter(event_type=EventType.VIEW).latest("id")


def test_ordinary_users_never_see_an_archived_child(la):
    practitioner = actor_for("practitioner", la)
    assert found(practitioner) == [child("G1").contactpoint_id]  # live: found and opened
    assert opens(practitioner, "G1").name.given_name == "Ivy"
    archive("G1", days_ago=10)
    assert found(practitioner) == []
    with pytest.raises(ChildArchived):
        opens(practitioner, "G1")
    with pytest.raises(PermissionDenied):
        opens(practitioner, "G1", basis="s47_enquiry")  # a ground does not make a practitioner eligible
    assert last_view().outcome == Outcome.DENIED
    national = actor_for("national_partner", la)
    with pytest.raises(PermissionDenied):
        opens(national, "G1", basis="child_death_review")


def test_data_managers_see_it_during_its_first_year_only(la):
    manager = actor_for("data_manager", la)
    archive("G1", days_ago=364)
    assert found(manager) == [child("G1").contactpoint_id]
    assert opens(manager, "G1").name.family_name == "Quennell"
    assert last_view().details["archive_access"] == "first_year"
    ChildRetention.objects.update(archived_on=timezone.localdate() - datetime.timedelta(days=366))
    assert found(manager) == []
    with pytest.raises(ChildArchived):
        opens(manager, "G1")


@pytest.mark.parametrize("basis", ["s47_enquiry", "serious_case_review", "child_death_review"])
def test_after_the_first_year_only_for_a_review_and_the_ground_is_recorded(la, basis):
    archive("G1", days_ago=800)
    for role in ("data_manager", "la_management"):
        view = opens(actor_for(role, la), "G1", basis=basis)
        assert view.contactpoint_id == child("G1").contactpoint_id
        event = last_view()
        recorded = (event.outcome, event.details["archive_access"], event.reason)
        assert recorded == (Outcome.SUCCESS, basis, REASON)


def test_the_team_needs_a_ground_even_in_the_first_year(la):
    archive("G1", days_ago=5)
    team = actor_for("la_management", la)
    with pytest.raises(ChildArchived):
        opens(team, "G1")
    assert opens(team, "G1", basis="serious_case_review").name.given_name == "Ivy"


def test_an_unknown_ground_is_refused_with_a_message_and_audited(la):
    archive("G1", days_ago=800)
    with pytest.raises(ValidationError, match="not a ground"):
        opens(actor_for("data_manager", la), "G1", basis="curiosity")
    assert last_view().outcome == Outcome.DENIED


def test_live_children_are_unaffected(la):
    archive("G1", days_ago=10)
    practitioner = actor_for("practitioner", la)
    assert opens(practitioner, "G3").name.given_name == "Rosa"
    assert "archive_access" not in last_view().details
