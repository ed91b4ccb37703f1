"""The one door: what each actor may see of a child, shielded or not, sensitive or not."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contactpoint.access.door import child_record_for, search_scope
from contactpoint.access.services import shield_add
from contactpoint.access.tests.factories import actor_for
from contactpoint.records.models import (
    Carer,
    ChildBirthDate,
    ChildGender,
    EducationSetting,
    IdentifierScheme,
    OrganisationKind,
    SensitiveBasis,
    ServiceType,
)
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    ChildIdentifierFactory,
    ChildNameFactory,
    InvolvementFactory,
    OrganisationFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db
REASON = "Safeguarding referral received today"


@pytest.fixture
def world():
    la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds")
    other_la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manchester")
    school = OrganisationFactory(kind=OrganisationKind.SCHOOL, code="1383001", local_authority=la)
    camhs = OrganisationFactory(kind=OrganisationKind.SERVICE_PROVIDER, code="RC383", local_authority=la)
    clinic = OrganisationFactory(kind=OrganisationKind.SERVICE_PROVIDER, code="RS383", local_authority=la)
    nhs = OrganisationFactory(kind=OrganisationKind.NATIONAL_BODY, code="X26")
    source = SourceFactory(authority_rank=10)
    child = ChildFactory()
    item = {"child": child, "source": source, "is_chosen": True}
    ChildNameFactory(**item, given_name="Amelia", family_name="Khan")
    ChildNameFactory(child=child, source=source, kind="former", given_name="Amelia", family_name="Ahmed")
    ChildGender.objects.create(**item, source_record_id="R", asserted_at=timezone.now(), gender="female")
    ChildBirthDate.objects.create(
        **item, source_record_id="R", asserted_at=timezone.now(), date_of_birth=datetime.date(2015, 3, 14)
    )
    ChildAddressFactory(**item, postcode="LS6 2AB")
    ChildIdentifierFactory(child=child, source=source, issuer=nhs)
    ChildIdentifierFactory(
        child=child, source=source, issuer=la, scheme=IdentifierScheme.UPN, value="B801200005001"
    )
    Carer.objects.create(
        child=child,
        source=source,
        source_record_id="R",
        asserted_at=timezone.now(),
        given_name="Sara",
        family_name="Khan",
        relationship="mother",
        phone="07700 900001",
    )
    EducationSetting.objects.create(
        child=child, source=source, source_record_id="R", asserted_at=timezone.now(), organisation=school
    )
    InvolvementFactory(
        child=child,
        source=source,
        organisation=la,
        service_type=ServiceType.SOCIAL_CARE,
        is_lead_professional=True,
    )
    InvolvementFactory(
        child=child,
        source=source,
        organisation=camhs,
        service_type=ServiceType.MENTAL_HEALTH,
        is_sensitive=True,
        sensitive_basis=SensitiveBasis.CONSENT,
    )
    InvolvementFactory(
        child=child,
        source=source,
        organisation=clinic,
        service_type=ServiceType.SEXUAL_HEALTH,
        is_sensitive=True,
        sensitive_basis=SensitiveBasis.SIGNIFICANT_HARM,
    )
    return {
        "la": la,
        "other_la": other_la,
        "school": school,
        "camhs": camhs,
        "clinic": clinic,
        "nhs": nhs,
        "child": child,
    }


def test_a_carer_named_by_several_sources_appears_once_from_the_best_source(world):
    from contactpoint.records.tests.factories import SourceFactory as Sources

    child = world["child"]
    weaker = Sources(authority_rank=90)
    Carer.objects.create(
        child=child,
        source=weaker,
        source_record_id="W",
        asserted_at=timezone.now(),
        given_name="SARA",
        family_name="KHAN",
        relationship="mother",
        phone="07700 900999",
    )
    view = child_record_for(actor_for("practitioner", world["school"]), child, reason=REASON)
    assert [(c.family_name, c.contact.phone) for c in view.carers] == [("Khan", "07700 900001")]


def services_seen(view) -> set[str]:
    return {i.service_type for i in view.involvements}


def test_a_practitioner_sees_who_else_is_working_with_the_child(world):
    view = child_record_for(actor_for("practitioner", world["school"]), world["child"], reason=REASON)
    assert (view.name.given_name, view.name.family_name, view.gender) == ("Amelia", "Khan", "female")
    assert [n.family_name for n in view.former_names] == ["Ahmed"]
    assert view.address["postcode"] == "LS6 2AB"
    assert view.carers[0].contact.phone == "07700 900001"
    assert [s.organisation.name for s in view.schools] == [world["school"].name]
    assert services_seen(view) == {"social_care", "mental_health"}  # s31 sexual health withheld
    assert view.identifiers == []  # neither the NHS number nor the UPN was issued by the school


def test_identifiers_are_seen_only_by_the_body_that_issued_them(world):
    nhs_staff = actor_for("practitioner", world["nhs"], local_authority=world["la"])
    nhs_view = child_record_for(nhs_staff, world["child"], reason=REASON)
    la_view = child_record_for(actor_for("practitioner", world["la"]), world["child"], reason=REASON)
    assert [scheme for scheme, _ in nhs_view.identifiers] == ["nhs_number"]
    assert la_view.identifiers == [("upn", "B801200005001")]


def test_sensitive_services_follow_their_basis(world):
    provider = child_record_for(actor_for("practitioner", world["clinic"]), world["child"], reason=REASON)
    assert "sexual_health" in services_seen(provider)  # the providing service sees its own
    team = child_record_for(actor_for("la_management", world["la"]), world["child"], reason=REASON)
    assert services_seen(team) == {"social_care", "mental_health", "sexual_health"}
    partner = actor_for("national_partner", world["nhs"], local_authority=world["la"])
    partner = child_record_for(partner, world["child"], reason=REASON)
    assert services_seen(partner) == {"social_care"}  # national partners never see sensitive services


@pytest.mark.parametrize("role", ["auditor", "system_admin", "data_manager"])
def test_roles_without_child_data_are_refused(world, role):
    with pytest.raises(PermissionDenied):
        child_record_for(actor_for(role, world["la"]), world["child"], reason=REASON)


def test_a_reason_is_required(world):
    with pytest.raises(ValidationError, match="reason for access"):
        child_record_for(actor_for("practitioner", world["school"]), world["child"], reason="  ")


def shield(world):
    return shield_add(
        child=world["child"],
        actor=actor_for("la_management", world["la"], username="team"),
        reason="Family in a refuge",
    )


def test_a_shielded_child_shows_ordinary_users_only_the_visible_fields(world):
    shield(world)
    view = child_record_for(actor_for("practitioner", world["school"]), world["child"], reason=REASON)
    assert view.shielded and view.restricted
    assert (view.name.family_name, view.gender, view.date_of_birth) == (
        "Khan",
        "female",
        datetime.date(2015, 3, 14),
    )
    assert [(c.given_name, c.family_name, c.contact) for c in view.carers] == [("Sara", "Khan", None)]
    assert view.address is None
    assert (view.identifiers, view.schools, view.gp_practices, view.involvements) == ([], [], [], [])


def test_the_shielding_authoritys_team_sees_everything_others_do_not(world):
    shield(world)
    own = child_record_for(
        actor_for("la_management", world["la"], username="own"), world["child"], reason=REASON
    )
    assert not own.restricted and own.address is not None
    other = child_record_for(actor_for("la_management", world["other_la"]), world["child"], reason=REASON)
    assert other.restricted and other.address is None


def test_break_glass_reveals_only_for_roles_granted_it(world):
    shield(world)
    other_team = actor_for("la_management", world["other_la"])
    revealed = child_record_for(other_team, world["child"], reason=REASON, break_glass=True)
    assert not revealed.restricted and revealed.address["postcode"] == "LS6 2AB"
    with pytest.raises(PermissionDenied, match="cannot override"):
        child_record_for(
            actor_for("practitioner", world["school"]), world["child"], reason=REASON, break_glass=True
        )


def test_break_glass_raises_an_alert_to_the_shielding_authority(world):
    from contactpoint.access.models import BreakGlassAlert

    shield(world)
    other_team = actor_for("la_management", world["other_la"])
    child_record_for(other_team, world["child"], reason="Child in A&E, mother unreachable", break_glass=True)
    alert = BreakGlassAlert.objects.get()
    assert (alert.local_authority, alert.user_id, alert.reason) == (
        world["la"],
        other_team.user_id,
        "Child in A&E, mother unreachable",
    )
    child_record_for(actor_for("la_management", world["la"], username="own"), world["child"], reason=REASON)
    assert BreakGlassAlert.objects.count() == 1  # the authority's own team raises no alert


def test_mediated_access_sees_what_the_requester_may_and_records_both(world):
    from contactpoint.access.models import Profile
    from contactpoint.audit.models import AuditEvent

    mediator = actor_for("la_management", world["la"], username="desk")
    requester = actor_for("national_partner", world["nhs"], local_authority=world["la"], username="partner")
    acting = mediator.on_behalf_of_user(Profile.objects.get(user__username="partner").user)
    view = child_record_for(acting, world["child"], reason="Phone request from partner")
    assert services_seen(view) == {"social_care"}  # the requester's view: no sensitive services
    event = AuditEvent.objects.get(event_type="view")
    assert (event.actor_username, event.on_behalf_of) == ("desk", requester.username)


def _queries_to_read(actor, child) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        child_record_for(actor, child, reason=REASON)
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


def test_a_record_costs_a_fixed_handful_of_queries_however_much_it_holds(world):
    """The archive state (one look-up: the targeted scope archives through retention too), the
    shield, the record's items in one query, the audit event: more items, same round trips."""
    practitioner = actor_for("practitioner", world["school"])
    few = _queries_to_read(practitioner, world["child"])
    assert sum("retention_childretention" in q for q in few) == 1
    for n in range(5):
        InvolvementFactory(
            child=world["child"], organisation=world["la"], service_type=ServiceType.EARLY_HELP
        )
        ChildNameFactory(child=world["child"], kind="former", family_name=f"Former{n}")
        EducationSetting.objects.create(
            child=world["child"],
            source=SourceFactory(),
            source_record_id=f"S{n}",
            asserted_at=timezone.now(),
            organisation=world["school"],
        )
    many = _queries_to_read(practitioner, world["child"])
    assert len(many) == len(few) <= 4
    view = child_record_for(practitioner, world["child"], reason=REASON)
    assert len(view.former_names) == 6 and len(view.schools) == 6
    assert services_seen(view) == {"social_care", "mental_health", "early_help"}


def test_a_search_checks_the_archive_once_for_all_its_candidates(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    others = [ChildFactory() for _ in range(3)]
    practitioner = actor_for("practitioner", world["school"])
    with CaptureQueriesContext(connection) as captured:
        found = search_scope(practitioner, [world["child"].pk] + [c.pk for c in others])
    assert len(found) == 4
    assert sum("retention_childretention" in q["sql"] for q in captured.captured_queries) == 1


def test_a_restricted_record_reads_none_of_the_hidden_tables(world):
    shield(world)
    queries = " ".join(_queries_to_read(actor_for("practitioner", world["school"]), world["child"]))
    for hidden in ("childaddress", "childidentifier", "educationsetting", "gpregistration", "involvement"):
        assert f"records_{hidden}" not in queries
    assert "records_carer" in queries
