"""The reports and misuse rules read the search service's own audit events."""

import datetime

import pytest
from django.contrib.auth import get_user_model

from contactpoint.access.models import Profile
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.misuse import misuse_detect
from contactpoint.audit.misuse_rules import RULES_BY_CODE
from contactpoint.audit.reports import report_request, report_rows
from contactpoint.audit.selectors import EVERYWHERE
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory
from contactpoint.search.selectors import SearchCriteria, children_search

pytestmark = pytest.mark.django_db


def test_a_search_for_ones_own_family_is_reported_and_raises_an_alert(tmp_path):
    load(
        tmp_path,
        "gp_registration",
        [person("G1", given_name="William", family_name="Hartley", postcode="LS6 2AB")],
    )
    link_run()
    leeds = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    actor = actor_for("practitioner", leeds, username="hartley-worker")
    get_user_model().objects.filter(pk=actor.user_id).update(last_name="Hartley")
    Profile.objects.filter(user_id=actor.user_id).update(home_postcode="LS6 2AB")
    criteria = SearchCriteria(
        given_name="William", family_name="Hartley", date_of_birth=datetime.date(2015, 3, 14)
    )
    found = children_search(actor=actor, criteria=criteria).hits
    assert found, "the search found the child"
    child_id = found[0].id
    rows = list(report_rows(report_request(kind="searches_returning", child_id=child_id), EVERYWHERE))
    assert [r.actor_username for r in rows] == ["hartley-worker"]
    alerts = misuse_detect(rules=[RULES_BY_CODE["own_surname_or_address"]])
    assert [(a.username, a.evidence["address_events"]) for a in alerts] == [("hartley-worker", [rows[0].pk])]
