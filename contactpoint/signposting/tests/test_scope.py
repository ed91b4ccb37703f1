"""The targeted scope: only children known to services are created; a child who leaves is archived."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from contactpoint.access.door import ChildArchived, child_record_for, child_record_for_notice
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.models import AuditEvent
from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.records.models import Child, Involvement, OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory
from contactpoint.search.selectors import SearchCriteria, children_search
from contactpoint.signposting.models import ScopeArchive
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
    link_run()  # the first run, which is a full one
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
    # G9, and S2 that the full run left waiting: both held out now, and not tried again
    assert counts["out_of_scope"] == 2 and child_of("gp_registration", "G9") is None
    assert not SourceRecord.objects.filter(source_record_id__in=["G9", "S2"], needs_linking=True).exists()
    assert link_run().counts.get("out_of_scope", 0) == 0
    # ...while a record of a child already in scope links to it
    load(tmp_path, "gp_registration", [person("G1")])
    link_run()
    assert child_of("gp_registration", "G1") == child_of("la_childrens_services", "S1")


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
    assert ScopeArchive.objects.get().child == child
    event = AuditEvent.objects.filter(details__action="scope_review").get()
    assert event.child_ids == [child.contactpoint_id]
    practitioner = actor_for("practitioner", leeds)
    assert found(practitioner, child) is False  # not in a search either
    with pytest.raises(ChildArchived):
        child_record_for(practitioner, child, reason="enquiry")
    assert issubclass(ChildArchived, PermissionDenied)
    assert not child_record_for_notice(practitioner, child, whereabouts=False)  # nor told of it
    assert scope_review() == {"archived": 0, "restored": 0}  # idempotent
    Involvement.objects.filter(child=child).update(end_date=None)  # known to services again
    assert scope_review() == {"archived": 0, "restored": 1}
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
