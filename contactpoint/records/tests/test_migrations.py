"""Birth dates, names, carers, identifiers and addresses already stored are sealed by the
migrations, and opened again backwards."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from contactpoint.access.door import child_pks_for
from contactpoint.records import sealed
from contactpoint.records.models import Carer, ChildAddress, ChildBirthDate, ChildIdentifier, ChildName
from contactpoint.tests.migrating import migrate_to

BEFORE = [("records", "0005_fold_api_involvements")]
AFTER = [("records", "0010_childaddress_sealed")]
NHS_NUMBER = "9434765919"
BORN = datetime.date(2014, 3, 7)
TABLE = "records_childidentifier"
HOME = ("7 Quarrendon Close", "Flat 2", "Malton", "YO62 5XQ")
LINES = ("address_line_1", "address_line_2", "town", "postcode")


def _stored_in_clear(apps):
    organisation = apps.get_model("records", "Organisation").objects.create(
        kind="local_authority", code="383"
    )
    source = apps.get_model("records", "Source").objects.create(
        code="la", name="LA", organisation=organisation, obligation="must"
    )
    child = apps.get_model("records", "Child").objects.create(contactpoint_id="CP000000000001")
    item = {"child": child, "source": source, "source_record_id": "R1", "is_chosen": True}
    item["asserted_at"] = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    apps.get_model("records", "ChildBirthDate").objects.create(**item, date_of_birth=BORN)
    apps.get_model("records", "ChildName").objects.create(**item, given_name="Ivy", family_name="Quennell")
    apps.get_model("records", "ChildAddress").objects.create(
        **item, status="current", **dict(zip(LINES, HOME, strict=True))
    )
    del item["is_chosen"]
    apps.get_model("records", "Carer").objects.create(
        **item, given_name="Sara", family_name="Wynstanley", relationship="mother", phone="07700 900123"
    )
    apps.get_model("records", "ChildIdentifier").objects.create(
        **item, scheme="nhs_number", value=NHS_NUMBER, issuer=organisation
    )
    return child.pk


@pytest.mark.django_db(transaction=True)
def test_stored_birth_dates_names_carers_identifiers_and_addresses_are_sealed_and_open_again_backwards():
    child_pk = _stored_in_clear(migrate_to(BEFORE))
    try:
        migrate_to(AFTER)
        with connection.cursor() as cursor:
            for table in (
                "records_childbirthdate",
                "records_childname",
                "records_carer",
                TABLE,
                "records_childaddress",
            ):
                cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
                clear = {str(v) for row in cursor.fetchall() for v in row}
                assert not {"2014-03-07", "Quennell", "Wynstanley", "07700 900123", NHS_NUMBER, *HOME} & clear
        (born,) = sealed.values_opened(ChildBirthDate.objects.filter(child_id=child_pk), "year_of_birth")
        (name,) = sealed.values_opened(ChildName.objects.filter(child_id=child_pk))
        assert (born["date_of_birth"], born["year_of_birth"], name["family_name"]) == (BORN, 2014, "Quennell")
        (carer,) = sealed.values_opened(Carer.objects.filter(child_id=child_pk), "relationship")
        assert (carer["family_name"], carer["phone"], carer["relationship"]) == (
            "Wynstanley",
            "07700 900123",
            "mother",
        )

        (number,) = sealed.values_opened(ChildIdentifier.objects.filter(child_id=child_pk), "scheme")
        assert (number["scheme"], number["value"]) == ("nhs_number", NHS_NUMBER)
        assert child_pks_for(nhs_number=NHS_NUMBER) == [child_pk]  # by its blind key
        (home,) = sealed.values_opened(ChildAddress.objects.filter(child_id=child_pk), "status")
        assert tuple(home[f] for f in LINES) == HOME
        assert home["status"] == "current"

        apps = migrate_to(BEFORE)
        assert apps.get_model("records", "ChildBirthDate").objects.get().date_of_birth == BORN
        assert apps.get_model("records", "ChildName").objects.get().family_name == "Quennell"
        assert apps.get_model("records", "Carer").objects.get().phone == "07700 900123"
        assert apps.get_model("records", "ChildIdentifier").objects.get().value == NHS_NUMBER
        addresses = apps.get_model("records", "ChildAddress").objects
        assert (addresses.get().address_line_2, addresses.get().postcode) == HOME[1::2]
        with pytest.raises(IntegrityError), transaction.atomic():  # the database checks the lines again
            addresses.update(status="no_fixed_address")
    finally:
        apps = migrate_to()
        held = ("ChildBirthDate", "ChildName", "Carer", "ChildIdentifier", "ChildAddress")
        held += ("Child", "Source", "Organisation")
        for model in held:
            apps.get_model("records", model).objects.all().delete()
        apps.get_model("retention", "ChildDataKey").objects.all().delete()
