"""The data-quality report per area, and stale records by source (the sources' declared horizon)."""

import datetime

import pytest

from contactpoint.feeds.sources import BY_CODE
from contactpoint.feeds.tests.helpers import EXTRACTED
from contactpoint.linkage.selectors import quality_report
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def areas(tmp_path):
    leeds = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383", name="Leeds")
    manchester = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manchester")
    OrganisationFactory(kind=OrganisationKind.GP_PRACTICE, code="B86001", local_authority=leeds)
    OrganisationFactory(kind=OrganisationKind.GP_PRACTICE, code="P84001", local_authority=manchester)
    leeds_gp = {"gp_practice_code": "B86001", "gp_registration_date": "2016-01-01"}
    load(
        tmp_path,
        "gp_registration",
        [
            person("G1", nhs_number="9434765919", **leeds_gp),
            person("G2", given_name="Zed", family_name="Quinn", date_of_birth="2011-01-01", **leeds_gp),
            person(
                "G3",
                given_name="Ola",
                family_name="Berg",
                date_of_birth="2012-02-02",
                gp_practice_code="P84001",
                gp_registration_date="2016-01-01",
            ),
        ],
    )
    load(tmp_path, "child_benefit", [person("C1", nhs_number="9434765919")])  # the same child as G1
    link_run()
    return leeds, manchester


def _by_source(report: dict) -> dict[str, dict]:
    return {row["source"]: row for row in report["sources"]}


def test_each_area_counts_the_records_that_concern_it(areas):
    leeds, manchester = areas
    everywhere = _by_source(quality_report())
    assert everywhere["gp_registration"]["records"] == 3
    in_leeds = _by_source(quality_report(area=leeds))
    # G1 and G2 name a Leeds practice; C1 names none but is linked to G1's child, known in Leeds.
    assert in_leeds["gp_registration"]["records"] == 2 and in_leeds["child_benefit"]["records"] == 1
    in_manchester = _by_source(quality_report(area=manchester))
    assert in_manchester["gp_registration"]["records"] == 1 and "child_benefit" not in in_manchester
    assert in_leeds["gp_registration"]["latest_extract"] == EXTRACTED


def test_records_go_stale_after_their_sources_declared_horizon(areas):
    leeds, _ = areas
    horizon = BY_CODE["gp_registration"].stale_after_days
    assert horizon == BY_CODE["child_benefit"].stale_after_days == 365
    just_within = EXTRACTED + datetime.timedelta(days=horizon) - datetime.timedelta(minutes=1)
    just_after = EXTRACTED + datetime.timedelta(days=horizon, minutes=1)
    assert all(row["stale"] == 0 for row in quality_report(now=just_within)["sources"])
    after = _by_source(quality_report(now=just_after))
    assert after["gp_registration"]["stale"] == 3 and after["gp_registration"]["stale_share"] == 1.0
    assert after["gp_registration"]["stale_after_days"] == horizon
    assert _by_source(quality_report(area=leeds, now=just_after))["gp_registration"]["stale"] == 2


def test_a_shorter_horizon_makes_a_source_stale_sooner(areas, tmp_path):
    load(
        tmp_path,
        "youth_justice",
        [person("Y1", given_name="Ivo", family_name="Lind", date_of_birth="2010-05-05")],
    )
    horizon = BY_CODE["youth_justice"].stale_after_days
    assert horizon < BY_CODE["gp_registration"].stale_after_days
    report = _by_source(quality_report(now=EXTRACTED + datetime.timedelta(days=horizon + 1)))
    assert report["youth_justice"]["stale"] == 1 and report["gp_registration"]["stale"] == 0
