"""The search page's side of the search contract: criteria passed on, results shown with minimum disclosure.

The search service is replaced here by a stand-in answering with its own types, so
these tests pin what the page does with any answer; the service's own tests pin the matching.
"""

import datetime
import types
from unittest import mock

import pytest
from django.urls import reverse

from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.search.selectors import CriteriaTooWeak, SearchCriteria, SearchHit, SearchResult

pytestmark = pytest.mark.django_db


Criteria = SearchCriteria
Hit = SearchHit


def Result(hits=(), too_many=False):
    return SearchResult(hits=list(hits), too_many=too_many)


def stand_in(answer):
    calls = []

    def children_search(*, actor, criteria, limit=20, client=""):
        calls.append(criteria)
        if isinstance(answer, Exception):
            raise answer
        return answer

    module = types.SimpleNamespace(
        SearchCriteria=Criteria, CriteriaTooWeak=CriteriaTooWeak, children_search=children_search
    )
    return module, calls


@pytest.fixture
def practitioner(client):
    sign_in_verified(client, make_user("searcher").user)
    return client


def _search(client, answer, data):
    module, calls = stand_in(answer)
    with mock.patch("contactpoint.web.views.search_service", module):
        html = client.post(reverse("web:search"), data).content.decode()
    return html, calls


def test_the_criteria_reach_the_service_normalised(practitioner):
    data = {
        "given_name": " Amelia ",
        "family_name": "Khan",
        "dob_day": "14",
        "dob_month": "3",
        "dob_year": "2015",
    }
    _, [criteria] = _search(
        practitioner, Result(), {**data, "gender": "female", "nhs_number": "943 476 5919"}
    )
    assert criteria == Criteria(
        given_name="Amelia",
        family_name="Khan",
        date_of_birth=datetime.date(2015, 3, 14),
        gender="female",
        nhs_number="9434765919",
    )


def test_results_show_only_enough_to_tell_children_apart_with_match_hints(practitioner):
    hits = [
        Hit(
            "CP0000000000001",
            97.5,
            "Amelia",
            "Khan",
            datetime.date(2015, 3, 14),
            "female",
            "LS6",
            ("family_name", "date_of_birth"),
            False,
        ),
        Hit(
            "CP0000000000002",
            81.0,
            "Lily",
            "Khan",
            datetime.date(2015, 3, 14),
            "female",
            "",
            ("family_name",),
            True,
        ),
    ]
    html, _ = _search(practitioner, Result(hits=hits), {"family_name": "Khan"})
    assert "2 children match" in html
    assert html.index("Amelia") < html.index("Lily")
    assert reverse("web:child", args=["CP0000000000001"]) in html
    assert "family name, date of birth" in html and "14 March 2015" in html and "LS6" in html
    assert "Shielded" in html and "Not shown" in html  # a shielded child's area is not disclosed


def test_too_many_matches_asks_for_more_detail_instead_of_a_list(practitioner):
    html, _ = _search(practitioner, Result(too_many=True), {"family_name": "Smith"})
    assert "Too many matches" in html and "Add detail" in html
    assert "govuk-table" not in html


def test_criteria_below_the_minimum_show_the_services_message_in_the_error_summary(practitioner):
    refusal = CriteriaTooWeak("Add a date of birth to a family name, or search by an identifier.")
    html, _ = _search(practitioner, refusal, {"family_name": "Khan"})
    assert "There is a problem" in html and "Add a date of birth to a family name" in html
    assert 'value="Khan"' in html
