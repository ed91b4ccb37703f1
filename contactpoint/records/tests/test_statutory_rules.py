"""The statutory rules of the child record, enforced by the database and the service layer."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contactpoint.records import sealed, services
from contactpoint.records.models import (
    AddressStatus,
    ChildAddress,
    ChildGender,
    ChildIdentifier,
    ChildName,
    Gender,
    IdentifierScheme,
    ReturnIntent,
    SensitiveBasis,
    ServiceType,
)
from contactpoint.records.statutory import NonStatutoryFieldError
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    InvolvementFactory,
    OrganisationFactory,
    SourceFactory,
    valid_nhs_number,
)

pytestmark = pytest.mark.django_db


def refused_by_database(instance) -> bool:
    """Save bypassing Python validation, as a bulk load would, and report whether the DB refused."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        return True
    return False


@pytest.fixture
def assertion(source):
    return services.Assertion(source=source, source_record_id="R1", asserted_at=timezone.now())


@pytest.fixture
def child():
    return ChildFactory()


class TestAddressStatus:
    @pytest.mark.parametrize("status", [s for s in AddressStatus.values if s != "left_england"])
    def test_each_status_alone_is_accepted(self, child, source, status):
        lines = (
            {}
            if status == AddressStatus.NO_FIXED_ADDRESS
            else {"address_line_1": "1 High Street", "postcode": "LS1 1AA"}
        )
        address = ChildAddress(
            child=child,
            source=source,
            source_record_id="R",
            asserted_at=timezone.now(),
            status=status,
            **lines,
        )
        assert not refused_by_database(address)

    def test_left_england_needs_exactly_one_return_intent(self, child, source):
        base = {
            "child": child,
            "source": source,
            "source_record_id": "R",
            "asserted_at": timezone.now(),
            "status": AddressStatus.LEFT_ENGLAND,
        }
        assert refused_by_database(ChildAddress(**base))
        assert refused_by_database(ChildAddress(**base, return_intent="maybe"))
        assert not refused_by_database(ChildAddress(**base, return_intent=ReturnIntent.UNKNOWN))

    def test_unknown_or_missing_status_is_refused(self, child):
        assert refused_by_database(ChildAddressFactory.build(child=child, source=SourceFactory(), status=""))
        assert refused_by_database(
            ChildAddressFactory.build(child=child, source=SourceFactory(), status="current,left_england")
        )

    def test_return_intent_only_when_left_england(self, child, source):
        address = ChildAddressFactory.build(child=child, source=source, return_intent=ReturnIntent.RETURNING)
        assert refused_by_database(address)

    # The lines are sealed, so the database cannot check them: every writer does, where it seals.
    BAD_LINES = (
        (
            {"status": AddressStatus.NO_FIXED_ADDRESS, "postcode": "LS6 2AB"},
            "no fixed address has no address",
        ),
        ({"status": AddressStatus.NO_FIXED_ADDRESS, "address_line_2": "Flat 2"}, "no fixed address has no"),
        ({"status": AddressStatus.CURRENT, "town": "Leeds"}, "needs a first line or a postcode"),
        ({"status": AddressStatus.LAST_KNOWN}, "needs a first line or a postcode"),
        ({"status": AddressStatus.CURRENT, "postcode": "LS6 2AB 123"}, "Postcode may be at most 8"),
    )

    @pytest.mark.parametrize(("lines", "message"), BAD_LINES)
    def test_every_writer_refuses_lines_that_contradict_the_status(self, child, source, lines, message):
        base = {"child": child, "source": source, "source_record_id": "R", "asserted_at": timezone.now()}
        with pytest.raises(ValidationError, match=message):
            ChildAddress(**base, **lines).save()  # a model's save: factories, plain ORM writers
        with pytest.raises(ValidationError, match=message):
            services.child_item_add(  # users' reports (address_report), through full_clean
                child=child,
                assertion=services.Assertion(source, "R", timezone.now()),
                item="ChildAddress",
                data=lines,
            )
        with pytest.raises(ValidationError, match=message):  # materialisation's bulk rows
            sealed.rows_seal(ChildAddress, [{"child_id": child.pk, **lines}], {})
        with pytest.raises(ValidationError, match=message):  # rows built by hand (bench/search_direct.py)
            sealed.row_sealed(None, ChildAddress, 1, lines)  # type: ignore[arg-type]
        assert not ChildAddress.objects.exists()

    def test_no_fixed_address_may_name_a_town_and_a_known_address_only_a_postcode(self, child, source):
        base = {"child": child, "source": source, "source_record_id": "R", "asserted_at": timezone.now()}
        ChildAddress(**base, status=AddressStatus.NO_FIXED_ADDRESS, town="Leeds").save()
        ChildAddress(**base, status=AddressStatus.CURRENT, postcode="LS6 2AB").save()
        opened = sealed.values_opened(ChildAddress.objects.order_by("pk"), "status")
        assert [(a["status"], a["town"], a["postcode"]) for a in opened] == [
            ("no_fixed_address", "Leeds", ""),
            ("current", "", "LS6 2AB"),
        ]

    def test_only_one_address_is_shown(self, child, source):
        ChildAddressFactory(child=child, source=source, is_chosen=True)
        assert refused_by_database(ChildAddressFactory.build(child=child, source=source, is_chosen=True))


class TestGender:
    @pytest.mark.parametrize("value", Gender.values)
    def test_accepts_each_value_including_not_specified(self, child, assertion, value):
        stored = services.child_item_add(
            child=child, assertion=assertion, item="ChildGender", data={"gender": value}
        )
        assert ChildGender.objects.get(pk=stored.pk).gender == value
        assert "not_specified" in Gender.values

    def test_refuses_other_values(self, child, assertion, source):
        with pytest.raises(ValidationError, match="gender"):
            services.child_item_add(
                child=child, assertion=assertion, item="ChildGender", data={"gender": "unknown"}
            )
        row = ChildGender(
            child=child, source=source, source_record_id="R", asserted_at=timezone.now(), gender="unknown"
        )
        assert refused_by_database(row)


class TestIdentifiers:
    def _add(self, child, assertion, scheme, value):
        issuer = OrganisationFactory()
        return services.child_item_add(
            child=child,
            assertion=assertion,
            item="ChildIdentifier",
            data={"scheme": scheme, "value": value, "issuer": issuer},
        )

    def test_valid_nhs_number_is_stored_compact(self, child, assertion):
        number = valid_nhs_number(1)
        stored = self._add(
            child, assertion, IdentifierScheme.NHS_NUMBER, f"{number[:3]} {number[3:6]} {number[6:]}"
        )
        (opened,) = sealed.values_opened(ChildIdentifier.objects.filter(pk=stored.pk))
        assert opened["value"] == number

    def test_bad_nhs_check_digit_is_refused_with_a_clear_message(self, child, assertion):
        number = valid_nhs_number(1)
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        with pytest.raises(ValidationError, match="fails its modulus 11 check digit"):
            self._add(child, assertion, IdentifierScheme.NHS_NUMBER, wrong)
        assert not ChildIdentifier.objects.exists()

    def test_nhs_number_of_wrong_length_is_refused(self, child, assertion):
        with pytest.raises(ValidationError, match="exactly 10 digits"):
            self._add(child, assertion, IdentifierScheme.NHS_NUMBER, "12345")

    def test_every_writer_refuses_a_bad_identifier_even_when_validation_is_bypassed(self, child, source):
        """The value is sealed, so the database cannot check it: the check runs where every
        writer seals (a model's save, a bulk load's `rows_seal`), with a clear message."""
        number = valid_nhs_number(7)
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        issuer = OrganisationFactory()
        base = {
            "child": child,
            "source": source,
            "source_record_id": "R",
            "asserted_at": timezone.now(),
            "scheme": IdentifierScheme.NHS_NUMBER,
            "issuer": issuer,
        }
        with pytest.raises(ValidationError, match="fails its modulus 11 check digit"):
            ChildIdentifier(**base, value=wrong).save()
        with pytest.raises(ValidationError, match="exactly 10 digits"):
            ChildIdentifier(**base, value="99000000AB").save()
        with pytest.raises(ValidationError, match="UPN 'A80120000500' must be 13 characters"):
            ChildIdentifier(**{**base, "scheme": IdentifierScheme.UPN}, value="A80120000500").save()
        with pytest.raises(ValidationError, match="needs a value"):
            sealed.rows_seal(ChildIdentifier, [{"child_id": child.pk, "scheme": "upn", "value": ""}], {})
        assert not ChildIdentifier.objects.exists()
        ChildIdentifier(**base, value=number).save()
        assert ChildIdentifier.objects.filter(
            blind_value__in=ChildIdentifier.blind_values(IdentifierScheme.NHS_NUMBER, number)
        ).exists()

    def test_every_writer_refuses_a_name_with_neither_part(self, child, source):
        """The database checked this before names were sealed; now every writer does."""
        base = {"child": child, "source": source, "source_record_id": "R", "asserted_at": timezone.now()}
        with pytest.raises(ValidationError, match="needs a given or a family name"):
            ChildName(**base, given_name="", middle_names="Ann", family_name="").save()
        with pytest.raises(ValidationError, match="needs a given or a family name"):
            sealed.rows_seal(ChildName, [{"child_id": child.pk, "given_name": "", "family_name": ""}], {})
        assert not ChildName.objects.exists()
        ChildName(**base, given_name="", middle_names="", family_name="Smith").save()
        assert ChildName.objects.count() == 1

    def test_upn_with_wrong_check_letter_is_refused(self, child, assertion):
        with pytest.raises(ValidationError, match="wrong check letter"):
            self._add(child, assertion, IdentifierScheme.UPN, "A801200005001")

    def test_valid_upn_is_accepted(self, child, assertion):
        stored = self._add(child, assertion, IdentifierScheme.UPN, "b801200005001")
        (opened,) = sealed.values_opened(ChildIdentifier.objects.filter(pk=stored.pk))
        assert opened["value"] == "B801200005001"

    def test_other_identifiers_must_name_their_scheme(self, child, assertion):
        with pytest.raises(ValidationError):
            self._add(child, assertion, IdentifierScheme.OTHER, "YJ-123")


class TestStatutoryFieldsOnly:
    def test_a_non_statutory_field_is_refused_by_name(self, child, assertion):
        with pytest.raises(NonStatutoryFieldError, match="case_notes is not a statutory item of ChildName"):
            services.child_item_add(
                child=child,
                assertion=assertion,
                item="ChildName",
                data={"given_name": "Amelia", "family_name": "Khan", "case_notes": "worried about home"},
            )
        assert not child.childname_set.exists()

    def test_an_unknown_item_is_refused(self, child, assertion):
        with pytest.raises(NonStatutoryFieldError, match="ChildDiagnosis"):
            services.child_item_add(child=child, assertion=assertion, item="ChildDiagnosis", data={})


class TestInvolvements:
    def test_sensitive_service_must_be_flagged_with_a_basis(self, child, source):
        involvement = InvolvementFactory(child=child, source=source)
        involvement.service_type = ServiceType.MENTAL_HEALTH
        assert refused_by_database(involvement)
        involvement.is_sensitive = True
        assert refused_by_database(involvement)
        involvement.sensitive_basis = SensitiveBasis.CONSENT
        assert not refused_by_database(involvement)

    def test_a_basis_without_the_flag_is_refused(self, child, source):
        involvement = InvolvementFactory(child=child, source=source)
        involvement.sensitive_basis = SensitiveBasis.SIGNIFICANT_HARM
        assert refused_by_database(involvement)

    def test_one_active_lead_professional_per_child(self, child, source):
        InvolvementFactory(child=child, source=source, is_lead_professional=True)
        second = InvolvementFactory(child=child, source=source)
        second.is_lead_professional = True
        assert refused_by_database(second)
        second.end_date = datetime.date(2025, 6, 1)
        assert not refused_by_database(second)

    def test_end_before_start_is_refused(self, child, source):
        involvement = InvolvementFactory(child=child, source=source)
        involvement.end_date = involvement.start_date - datetime.timedelta(days=1)
        assert refused_by_database(involvement)


def test_every_value_needs_its_source_record_id(child, source):
    address = ChildAddressFactory.build(child=child, source=source, source_record_id="")
    assert refused_by_database(address)


def test_fast_identifier_checks_agree_with_stdnum_on_random_input():
    """The loader's fast paths must accept exactly what python-stdnum accepts."""
    import random

    from stdnum.gb import nhs, upn

    from contactpoint.records import validators

    rng = random.Random(7)
    alphabet = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"
    for _ in range(20000):
        number = "".join(rng.choice("0123456789") for _ in range(10))
        pupil = rng.choice(alphabet) + f"{rng.choice([201, 383, 801, 999, 0])}".zfill(3)
        pupil += "".join(rng.choice("0123456789") for _ in range(8)) + rng.choice(alphabet)
        if rng.random() < 0.5:  # make about half of them valid
            pupil = upn.calc_check_digit(pupil[1:]) + pupil[1:]
        for value, module, normalise in (
            (number, nhs, validators.normalise_nhs_number),
            (pupil, upn, validators.normalise_upn),
        ):
            try:
                normalise(value)
                accepted = True
            except ValidationError:
                accepted = False
            assert accepted == module.is_valid(value), value
