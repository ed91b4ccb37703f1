"""The targeted scope: only children known to services are created; a child who leaves is archived
under the retention rules (its own basis), and restored when known to services again."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from contactpoint.access.door import ChildArchived, child_record_for, child_record_for_notice
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.models import AuditEvent
from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.records.models import Child, ChildBirthDate, Involvement, OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory
from contactpoint.retention.models import ArchiveBasis, ChildRetention, RetentionState
from contactpoint.retention.services import retention_plan
from contactpoint.search.selectors import SearchCriteria, children_search
from contactpoint.signposting.services import scope_review

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def leeds(settings):
    settings.CONTACTPOINT_SCOPE = "targeted"
    settings.CONTACTPOINT_SCOPE_GRACE_DAYS = 30
    return OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds City Council")


def involved(srid: str, *, ended: datetime.date | None = None, **values: str) -> dict[str, str]:
    return person(
        srid,
        service_type="social_care",
        organisation_code="383",
        involvement_start_date="2025-01-06",
        involvement_end_date=ended.isoformat() if ended else "",
        **values,
    )


def test_a_record_not_known_to_services_creates_no_child_a_known_one_does(tmp_path, leeds):
    load(
        tmp_path,
        "la_childrens_services",
        [involved("S1"), person("S2", given_name="Lily", family_name="Morgan", date_of_birth="2016-07-02")],
    )
    assert link_run().counts["out_of_scope"] == 1  # the first run, which is a full one
    assert child_of("la_childrens_services", "S1") is not None
    assert child_of("la_childrens_services", "S2") is None
    assert Child.objects.count() == 1
    # an incremental run refuses a new unknown child too, and does not keep trying it
    load(
        tmp_path,
        "gp_registration",
        [person("G9", given_name="Noah", family_name="Briggs", date_of_birth="2014-05-05")],
    )
    counts = link_run().counts
    # G9 only: the full run held S2 out already, and neither is tried again
    assert counts["out_of_scope"] == 1 and child_of("gp_registration", "G9") is None
    assert not SourceRecord.objects.filter(source_record_id__in=["G9", "S2"], needs_linking=True).exists()
    assert link_run().counts.get("out_of_scope", 0) == 0
    # ...while a record of a child already in scope links to it
    load(tmp_path, "gp_registration", [person("G1")])
    link_run()
    assert child_of("gp_registration", "G1") == child_of("la_childrens_services", "S1")


def test_a_near_match_held_out_of_scope_is_no_pair_to_review(tmp_path, leeds):
    """A full run that leaves a record without a child does not queue it against one."""
    load(
        tmp_path,
        "la_childrens_services",
        [involved("S1", nhs_number="9434765919"), person("S2", nhs_number="9434765870")],
    )
    run = link_run()
    assert child_of("la_childrens_services", "S2") is None
    assert run.counts["review_items"] == 0 and run.counts["records"] == 2


def test_the_national_scope_creates_everyone(tmp_path, leeds, settings):
    settings.CONTACTPOINT_SCOPE = "national"
    load(tmp_path, "gp_registration", [person("G2", given_name="Lily", family_name="Morgan")])
    link_run()
    assert child_of("gp_registration", "G2") is not None
    assert scope_review() == {"archived": 0, "restored": 0}


def test_a_child_who_leaves_scope_is_archived_after_the_grace_period_and_no_longer_shown(tmp_path, leeds):
    load(tmp_path, "la_childrens_services", [involved("S1", ended=TODAY - datetime.timedelta(days=10))])
    link_run()
    child = child_of("la_childrens_services", "S1")
    assert child is not None
    assert scope_review() == {"archived": 0, "restored": 0}  # ended, but within the grace period
    Involvement.objects.filter(child=child).update(end_date=TODAY - datetime.timedelta(days=31))
    assert scope_review() == {"archived": 1, "restored": 0}
    state = ChildRetention.objects.get(child=child)
    assert (state.state, state.archived_on, state.archive_basis) == ("archived", TODAY, "left_scope")
    event = AuditEvent.objects.filter(details__action="scope_review").get()
    assert event.child_ids == [child.contactpoint_id]
    assert event.details["archived"] == [child.contactpoint_id] and event.details["restored"] == []
    practitioner = actor_for("practitioner", leeds)
    assert found(practitioner, child) is False  # not in a search either
    with pytest.raises(ChildArchived):
        child_record_for(practitioner, child, reason="enquiry")
    assert issubclass(ChildArchived, PermissionDenied)
    assert not child_record_for_notice(practitioner, child, whereabouts=False)  # nor told of it
    assert scope_review() == {"archived": 0, "restored": 0}  # idempotent
    Involvement.objects.filter(child=child).update(end_date=None)  # known to services again
    assert scope_review() == {"archived": 0, "restored": 1}
    state.refresh_from_db()
    assert (state.state, state.archived_on, state.archive_basis) == ("live", None, "")
    restored = AuditEvent.objects.filter(details__action="scope_review").latest("pk")
    assert restored.details["restored"] == [child.contactpoint_id]
    assert child_record_for(practitioner, child, reason="enquiry").contactpoint_id == child.contactpoint_id
    assert found(practitioner, child) is True


def found(actor, child: Child) -> bool:
    criteria = SearchCriteria(family_name="Khan", date_of_birth=datetime.date(2015, 3, 14))
    return child.contactpoint_id in [h.id for h in children_search(actor=actor, criteria=criteria).hits]


def test_looked_after_children_are_in_scope(tmp_path, leeds):
    looked_after = person(
        "S3", carer_1_family_name="Leeds City Council", carer_1_relationship="local_authority"
    )
    load(tmp_path, "la_childrens_services", [looked_after])
    link_run()
    assert child_of("la_childrens_services", "S3") is not None
    assert scope_review()["archived"] == 0


@pytest.fixture
def left_scope(tmp_path, leeds) -> Child:
    """A child whose only involvement ended long ago, archived by today's review."""
    load(tmp_path, "la_childrens_services", [involved("S1")])
    link_run()
    child = child_of("la_childrens_services", "S1")
    assert child is not None
    Involvement.objects.filter(child=child).update(end_date=TODAY - datetime.timedelta(days=400))
    assert scope_review()["archived"] == 1
    return child


def test_a_child_archived_for_leaving_scope_follows_the_retention_rules(left_scope, leeds):
    manager, team = actor_for("data_manager", leeds), actor_for("la_management", leeds)
    # data managers in its first year, by search and by record; the team only on a ground
    assert found(manager, left_scope) is True
    assert child_record_for(manager, left_scope, reason="data quality").contactpoint_id
    assert found(team, left_scope) is False
    with pytest.raises(ChildArchived):
        child_record_for(team, left_scope, reason="enquiry")
    view = child_record_for(team, left_scope, reason="enquiry", archive_basis="s47_enquiry")
    assert view.contactpoint_id == left_scope.contactpoint_id
    # after its first year, the data manager no longer; destruction six years after the review
    ChildRetention.objects.filter(child=left_scope).update(archived_on=TODAY - datetime.timedelta(days=400))
    assert found(manager, left_scope) is False
    decisions, _ = retention_plan(today=TODAY + datetime.timedelta(days=365 * 6))
    assert [(d.child_id, d.action) for d in decisions] == [(left_scope.pk, "destroy")]
    assert retention_plan(today=TODAY + datetime.timedelta(days=365 * 4))[0] == []


def test_a_child_archived_by_age_is_neither_restored_nor_rearchived_by_the_review(tmp_path, leeds):
    load(tmp_path, "la_childrens_services", [involved("S1")])
    link_run()
    child = child_of("la_childrens_services", "S1")
    archived_on = TODAY - datetime.timedelta(days=20)
    ChildRetention.objects.create(
        child=child, state=RetentionState.ARCHIVED, archived_on=archived_on, archive_basis=ArchiveBasis.AGE_18
    )
    assert scope_review() == {"archived": 0, "restored": 0}  # known to services, but archived by age
    Involvement.objects.filter(child=child).update(end_date=TODAY - datetime.timedelta(days=400))
    assert scope_review() == {"archived": 0, "restored": 0}  # left scope: its age archive stands
    state = ChildRetention.objects.get(child=child)
    assert (state.archived_on, state.archive_basis) == (archived_on, ArchiveBasis.AGE_18)


def test_a_child_who_turned_18_meanwhile_stays_archived_from_leaving_scope(left_scope):
    ChildRetention.objects.filter(child=left_scope).update(archived_on=TODAY - datetime.timedelta(days=90))
    for born in ChildBirthDate.objects.filter(child=left_scope):  # sealed: each row is sealed again
        born.date_of_birth = datetime.date(TODAY.year - 19, 1, 1)
        born.save()
    Involvement.objects.filter(child=left_scope).update(end_date=None)  # known to services again
    assert scope_review() == {"archived": 0, "restored": 0}
    state = ChildRetention.objects.get(child=left_scope)
    assert (state.archived_on, state.archive_basis) == (TODAY - datetime.timedelta(days=90), "left_scope")


def test_consent_and_a_recorded_death_survive_archiving_and_restoring(left_scope, leeds):
    """A retention row the child already had (consent to stay live to 25) is archived, not replaced."""
    ChildRetention.objects.filter(child=left_scope).update(consent="care_leaver")
    Involvement.objects.filter(child=left_scope).update(end_date=None)
    assert scope_review()["restored"] == 1
    Involvement.objects.filter(child=left_scope).update(end_date=TODAY - datetime.timedelta(days=400))
    assert scope_review()["archived"] == 1
    state = ChildRetention.objects.get(child=left_scope)
    assert (state.state, state.consent, state.archive_basis) == ("archived", "care_leaver", "left_scope")
