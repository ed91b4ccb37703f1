"""Issue 10's check: take a database dump before a destruction, try to read it after.

The dump is the database's own (pg_dump on PostgreSQL, the SQL dump of the connection on
SQLite), taken with the child still live; the clock then runs to the destruction, and the backup
cycle rotates the KEK and the candidate index key. What the dump still reveals of the destroyed
child is listed table by table: the tables sealed so far must reveal nothing, and every wrapped
key in the dump names a KEK the deployment no longer holds. The tables still in the clear are
named here, so sealing one (or a new table leaking) changes this test (docs/adr/0010-retention.md).
"""

import datetime
import io
import re
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from contactpoint.audit.keys import key_id_of
from contactpoint.feeds.models import DataQualityWarning, QuarantinedRow, SourceRecordVersion
from contactpoint.feeds.services import feed_load
from contactpoint.feeds.tests.helpers import EXTRACTED, write_csv
from contactpoint.linkage.candidates import index_key_rotate
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import Child
from contactpoint.retention.crypto import UnknownKek, data_key_ensure, kek_ring
from contactpoint.retention.services import retention_apply

from .helpers import BORN, EIGHTEENTH, child

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads committed rows only

OLD_KEK = "00" * 31 + "02"  # settings.test
NEW_KEK = "00" * 31 + "07"
DESTROYED_ON = datetime.date(2034, 5, 1)  # six years after archiving at 18
SHE = ("Quennell", "Wynstanley")  # her family names, current and former: in no other child's row
NHS_NUMBER = "9434765919"
HOME = ("7 Quarrendon Close", "YO62 5XQ")  # her address line and postcode: in no other child's row

# Tables of the dump that still hold the destroyed child's values in the clear: none since the
# feed rows were sealed (the ADR's stage B).
STILL_IN_CLEAR: set[str] = set()
OLD_ADDRESS = "7 Quennell Mews"  # what her record said before the source sent a new address


def dump() -> dict[str, str]:
    """The database's data, table by table, as its own dump tool writes it."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "the PostgreSQL check needs pg_dump on the PATH"
        where = ["-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
        text = subprocess.run(
            [pg_dump, "--data-only", *where, "-U", settings["USER"] or "postgres", settings["NAME"]],
            capture_output=True,
            text=True,
            check=True,
            env={"PGPASSWORD": settings["PASSWORD"] or ""},
        ).stdout
        blocks = re.findall(r"^COPY public\.(\w+) .*?FROM stdin;\n(.*?)^\\\.$", text, re.M | re.S)
        return {table: rows for table, rows in blocks}
    tables: dict[str, str] = {}
    for line in connection.connection.iterdump():
        if found := re.match(r'INSERT INTO "(\w+)" VALUES', line):
            tables[found[1]] = tables.get(found[1], "") + line + "\n"
    return tables


def revealing(tables: dict[str, str], *values: str) -> set[str]:
    return {table for table, rows in tables.items() if any(v.lower() in rows.lower() for v in values)}


@pytest.fixture
def ivy(tmp_path):
    def her(line: str, postcode: str) -> dict:
        return person(
            "G1",
            given_name="Ivy",
            family_name=SHE[0],
            former_family_name=SHE[1],
            date_of_birth=BORN.isoformat(),
            nhs_number=NHS_NUMBER,
            gender=SHE[0],  # left out, with a warning that quotes it
            address_line_1=line,
            postcode=postcode,
        )

    rosa = person("G3", given_name="Rosa", family_name="Tindall", date_of_birth="2020-02-03")
    load(tmp_path, "la_childrens_services", [her(OLD_ADDRESS, "YO62 5AA"), rosa])
    # A later file moves her home: the first account is kept as a superseded version.
    feed_load(
        source_code="la_childrens_services",
        path=write_csv(tmp_path / "later.csv", [her(*HOME), rosa]),
        extracted_at=EXTRACTED + datetime.timedelta(days=1),
    )
    assert SourceRecordVersion.objects.filter(record__source_record_id="G1").count() == 1
    link_run()
    # A later file sends her with a birth date that puts her out of scope: the row is quarantined.
    her_again = {
        "given_name": "Ivy",
        "family_name": SHE[0],
        "former_family_name": SHE[1],
        "nhs_number": NHS_NUMBER,
    }
    load(tmp_path, "la_childrens_services", [person("G1", **her_again, date_of_birth="1990-01-01")])
    found = child("G1")
    data_key_ensure(child_id=found.pk)
    return found


def test_a_dump_from_before_a_destruction_reveals_nothing_of_the_sealed_tables(ivy):
    born = BORN.isoformat()
    before = dump()
    assert "linkage_candidatekey" in before and "linkage_indexkey" in before
    assert revealing(before, *SHE, born, NHS_NUMBER, *HOME, OLD_ADDRESS) == STILL_IN_CLEAR  # blind index
    held_back = {"source_record_id": "G1"}  # her quarantined row and the warnings about her gender
    assert QuarantinedRow.objects.filter(**held_back).exists()
    assert DataQualityWarning.objects.filter(**held_back).exists()

    retention_apply(today=EIGHTEENTH)
    retention_apply(today=DESTROYED_ON)
    assert not Child.objects.filter(pk=ivy.pk).exists()
    assert not QuarantinedRow.objects.filter(**held_back).exists()  # their keys with them
    assert not DataQualityWarning.objects.filter(**held_back).exists()
    assert not revealing(dump(), *SHE, born, NHS_NUMBER, *HOME, OLD_ADDRESS)  # nor do Rosa's rows

    # The backup cycle: a new KEK, every key rewrapped, the index re-keyed, the old KEK retired.
    with override_settings(CONTACTPOINT_DATA_KEK=f"{OLD_KEK},{NEW_KEK}"):
        call_command("rotate_data_keys", stdout=io.StringIO())
        index_key_rotate(wait=0)
    with override_settings(CONTACTPOINT_DATA_KEK=NEW_KEK):
        old = key_id_of(bytes.fromhex(OLD_KEK))
        for table in (
            "retention_childdatakey",
            "linkage_indexkey",
            "feeds_quarantinedrow",
            "feeds_dataqualitywarning",
        ):
            assert old in before[table]  # her keys and the index key, wrapped by the old KEK
        with pytest.raises(UnknownKek):
            kek_ring().key(old)
        after = dump()
        assert old not in after.get("retention_childdatakey", "") + after["linkage_indexkey"]
