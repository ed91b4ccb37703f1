import datetime

import factory
from django.utils import timezone

from contactpoint.records import models, services
from contactpoint.records.validators import nhs_check_digit


def valid_nhs_number(n: int) -> str:
    """The n-th valid NHS number in the 99 test range (skipping bodies with no valid check digit)."""
    body = 990000000 + n
    while (check := nhs_check_digit(str(body))) is None:
        body += 1
    return f"{body}{check}"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organisation

    kind = models.OrganisationKind.LOCAL_AUTHORITY
    code = factory.Sequence(lambda n: f"ORG{n:05d}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    accredited = True


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Source

    code = factory.Sequence(lambda n: f"source_{n}")
    name = factory.Sequence(lambda n: f"Source {n}")
    organisation = factory.SubFactory(OrganisationFactory, kind=models.OrganisationKind.NATIONAL_BODY)
    obligation = models.SupplyObligation.MUST
    authority_rank = 50


class ChildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Child

    contactpoint_id = factory.LazyFunction(services.contactpoint_id_issue)


class ProvenanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    source = factory.SubFactory(SourceFactory)
    source_record_id = factory.Sequence(lambda n: f"REC{n:07d}")
    asserted_at = factory.LazyFunction(timezone.now)


class ChildItemFactory(ProvenanceFactory):
    class Meta:
        abstract = True

    child = factory.SubFactory(ChildFactory)


class ChildNameFactory(ChildItemFactory):
    class Meta:
        model = models.ChildName

    given_name = "Amelia"
    family_name = "Khan"


class ChildAddressFactory(ChildItemFactory):
    class Meta:
        model = models.ChildAddress

    status = models.AddressStatus.CURRENT
    address_line_1 = "12 Oak Road"
    town = "Leeds"
    postcode = "LS6 2AB"


class ChildIdentifierFactory(ChildItemFactory):
    class Meta:
        model = models.ChildIdentifier

    scheme = models.IdentifierScheme.NHS_NUMBER
    value = factory.Sequence(valid_nhs_number)
    issuer = factory.SubFactory(OrganisationFactory, kind=models.OrganisationKind.NATIONAL_BODY)


class PractitionerFactory(ProvenanceFactory):
    class Meta:
        model = models.Practitioner

    organisation = factory.SubFactory(OrganisationFactory, kind=models.OrganisationKind.SERVICE_PROVIDER)
    given_name = "Sam"
    family_name = "Okafor"
    job_title = "Social Worker"
    phone = "07700 900123"
    email = "sam.okafor@example.org"


class InvolvementFactory(ChildItemFactory):
    class Meta:
        model = models.Involvement

    organisation = factory.SubFactory(OrganisationFactory, kind=models.OrganisationKind.SERVICE_PROVIDER)
    service_type = models.ServiceType.SOCIAL_CARE
    practitioner = factory.SubFactory(PractitionerFactory)
    start_date = datetime.date(2025, 1, 6)
