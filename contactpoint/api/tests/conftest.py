"""A small world for API contract tests: one child known to Leeds, and tokens for several roles."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from contactpoint.access.actors import Actor
from contactpoint.access.services import api_token_issue, roles_sync, shield_add, user_create
from contactpoint.records.models import Carer, ChildBirthDate, ChildGender, OrganisationKind, ServiceType
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    ChildIdentifierFactory,
    ChildNameFactory,
    InvolvementFactory,
    OrganisationFactory,
    SourceFactory,
)

REASON = "Section 47 enquiry opened today"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # throttle counters live in the cache
    yield
    cache.clear()


def make_child(source, *, given="Amelia", family="Khan", born=datetime.date(2015, 3, 14), gp=None):
    child = ChildFactory()
    item = {"child": child, "source": source, "is_chosen": True}
    ChildNameFactory(**item, given_name=given, family_name=family)
    ChildNameFactory(child=child, source=source, kind="former", given_name=given, family_name="Ahmed")
    now = timezone.now()
    ChildGender.objects.create(**item, source_record_id="R", asserted_at=now, gender="female")
    ChildBirthDate.objects.create(**item, source_record_id="R", asserted_at=now, date_of_birth=born)
    ChildAddressFactory(**item, postcode="LS6 2AB")
    Carer.objects.create(
        child=child,
        source=source,
        source_record_id="R",
        asserted_at=now,
        given_name="Sara",
        family_name="Khan",
        relationship="mother",
        has_parental_responsibility=True,
        phone="07700 900001",
    )
    return child


class World:
    def __init__(self):
        roles_sync()
        self.la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds")
        self.other_la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manc")
        self.school = OrganisationFactory(
            kind=OrganisationKind.SCHOOL, code="1383001", local_authority=self.la
        )
        self.nhs = OrganisationFactory(kind=OrganisationKind.NATIONAL_BODY, code="X26", name="NHS England")
        self.gp = OrganisationFactory(
            kind=OrganisationKind.GP_PRACTICE, code="B86001", local_authority=self.la
        )
        self.source = SourceFactory(authority_rank=10)
        self.child = make_child(self.source)
        ChildIdentifierFactory(child=self.child, source=self.source, issuer=self.nhs)
        from contactpoint.records.models import GPRegistration

        GPRegistration.objects.create(
            child=self.child,
            source=self.source,
            source_record_id="R",
            asserted_at=timezone.now(),
            organisation=self.gp,
        )
        self.fed_involvement = InvolvementFactory(
            child=self.child, source=self.source, organisation=self.la, service_type=ServiceType.SOCIAL_CARE
        )
        self.tokens: dict[str, str] = {}

    def user(self, name: str, role: str, organisation, *, vetted: bool = True, area=None):
        user, _ = user_create(
            username=name,
            role_code=role,
            organisation_code=organisation.code,
            local_authority_code=(area or self.la).code,
            vetted=vetted,
            password="a-long-password-for-tests",
        )
        return user

    def token(self, name: str, role: str = "practitioner", organisation=None, **kwargs) -> str:
        if name not in self.tokens:
            user = self.user(name, role, organisation or self.school, **kwargs)
            self.tokens[name] = api_token_issue(user=user, name=name)
        return self.tokens[name]

    def shield(self):
        team = self.user("team", "la_management", self.la)
        shield_add(child=self.child, actor=Actor.for_user(team), reason="Family in a refuge")


@pytest.fixture
def world(db):
    return World()


def client_for(token: str | None, reason: str | None = REASON) -> APIClient:
    client = APIClient()
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if reason is not None:
        headers["HTTP_X_ACCESS_REASON"] = reason
    client.credentials(**headers)
    return client


@pytest.fixture
def practitioner(world):
    return client_for(world.token("pat"))
