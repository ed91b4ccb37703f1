"""Search over REST and FHIR: the one search (contactpoint.search) behind both, checked at the edge.

The FHIR parameters are exercised with hypothesis: whatever a client sends answers 200 with a valid
searchset Bundle or 400 with an OperationOutcome, never a server error, and a child's own details
(in any letter case, with any of the optional fields) find that child.
"""

import datetime
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contactpoint.access.models import Shield
from contactpoint.access.tests.factories import make_user
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person

from .conftest import client_for
from .test_fhir import valid_r4

pytestmark = pytest.mark.django_db

PEOPLE = {
    "G1": {
        "given_name": "William",
        "family_name": "Hartley",
        "date_of_birth": "2015-03-14",
        "gender": "male",
    },
    "G2": {
        "given_name": "Sophie",
        "family_name": "Hartley",
        "date_of_birth": "2017-08-01",
        "gender": "female",
    },
    "G3": {"given_name": "Amara", "family_name": "Okafor", "date_of_birth": "2015-12-03", "gender": "female"},
}
HYPOTHESIS = settings(
    max_examples=60, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture
def index(tmp_path):
    postcodes = {"G1": "LS6 2AB", "G2": "LS6 2AB", "G3": "M1 4BT"}
    load(
        tmp_path,
        "gp_registration",
        [
            person(
                srid,
                postcode=postcodes[srid],
                **values,
                **({"nhs_number": "9434765919"} if srid == "G1" else {}),
            )
            for srid, values in PEOPLE.items()
        ],
    )
    link_run()
    return {srid: child_of("gp_registration", srid).contactpoint_id for srid in PEOPLE}


@pytest.fixture
def searcher(index):
    make_user("searcher", "practitioner", organisation="352")
    from django.contrib.auth import get_user_model

    from contactpoint.access.services import api_token_issue

    token = api_token_issue(user=get_user_model().objects.get(username="searcher"), name="t")
    return client_for(token, reason=None), token


def test_rest_search_finds_the_child_best_first_and_is_audited(index, searcher):
    client, token = searcher
    response = client.get(
        "/api/v1/children/search", {"family_name": "Hartley", "date_of_birth": "2015-03-14"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    first = body["results"][0]
    assert first["id"] == index["G1"]
    assert {"id", "score", "given_name", "family_name", "date_of_birth", "gender"} <= set(first)
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    event = AuditEvent.objects.filter(event_type=EventType.SEARCH).latest("id")
    assert event.client == f"api token {token[:12]}" and index["G1"] in event.child_ids


def test_rest_search_by_nhs_number_and_limit(index, searcher):
    client, _ = searcher
    body = client.get("/api/v1/children/search", {"nhs_number": "943 476 5919"}).json()
    assert [hit["id"] for hit in body["results"]] == [index["G1"]]
    limited = client.get(
        "/api/v1/children/search", {"family_name": "Hartley", "date_of_birth": "2015-03-14", "limit": 1}
    )
    assert len(limited.json()["results"]) <= 1


@pytest.mark.parametrize(
    "query",
    [
        {"family_name": "Hartley"},
        {"given_name": "William", "date_of_birth": "2015-03-14"},
        {"nhs_number": "1234567890"},
        {"contactpoint_id": "CP-nope"},
        {"family_name": "Hartley", "date_of_birth": "2015-03-14", "limit": 51},
        {"family_name": "Hartley", "date_of_birth": "2015-03-14", "date_of_birth_to": "2019-01-01"},
        {"family_name": "Hartley", "date_of_birth": "2015-03-14", "hair_colour": "brown"},
    ],
)
def test_rest_search_below_the_minimum_or_malformed_is_400_with_a_message(index, searcher, query):
    response = searcher[0].get("/api/v1/children/search", query)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["detail"]
    if len(query) == 1 and "family_name" in query:
        assert body["type"] == "urn:contactpoint:problem:criteria-too-weak"
        assert "date of birth" in body["detail"]


def test_rest_search_needs_a_token_and_a_role_that_searches(index, searcher):
    query = {"family_name": "Hartley", "date_of_birth": "2015-03-14"}
    assert client_for(None).get("/api/v1/children/search", query).status_code == 401
    make_user("aud", "auditor", organisation="352")
    from django.contrib.auth import get_user_model

    from contactpoint.access.services import api_token_issue

    auditor = client_for(api_token_issue(user=get_user_model().objects.get(username="aud"), name="a"))
    assert auditor.get("/api/v1/children/search", query).status_code == 403


def fhir_search(client, **params):
    return client.get("/fhir/Patient", params)


def test_fhir_patient_search_is_a_searchset_bundle(index, searcher):
    client, _ = searcher
    response = fhir_search(client, family="Hartley", birthdate="eq2015-03-14")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    bundle = valid_r4(response.json())
    assert bundle["type"] == "searchset"
    first = bundle["entry"][0]
    assert first["resource"]["id"] == index["G1"] and 0 < first["search"]["score"] <= 1
    system = "https://fhir.nhs.uk/Id/nhs-number"
    by_number = valid_r4(fhir_search(client, identifier=f"{system}|9434765919").json())
    assert [e["resource"]["id"] for e in by_number["entry"]] == [index["G1"]]


def test_fhir_search_of_a_shielded_child_shows_no_address_and_a_restricted_label(index, searcher):
    team = make_user("team", "la_management", organisation="383")
    Shield.objects.create(
        child=child_of("gp_registration", "G3"),
        local_authority=team.local_authority,
        reason="refuge",
        created_by=team.user,
        review_due=datetime.date(2027, 1, 1),
    )
    bundle = valid_r4(fhir_search(searcher[0], family="Okafor", birthdate="2015-12-03").json())
    patient = bundle["entry"][0]["resource"]
    assert patient["id"] == index["G3"] and patient["meta"]["security"][0]["code"] == "R"
    assert "address" not in patient


NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30)
DATES = st.one_of(
    st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2030, 12, 31)).map(str),
    st.text(max_size=12),
)
KNOWN_DATES = st.sampled_from([p["date_of_birth"] for p in PEOPLE.values()])
OPTIONAL = {
    "family": NAMES,
    "given": st.one_of(st.sampled_from(["William", "Bill", "sophie", "Amara"]), NAMES),
    "birthdate": st.one_of(
        DATES, st.tuples(st.sampled_from(["eq", "ge", "le", "gt", "xx"]), DATES).map("".join)
    ),
    "gender": st.sampled_from(["male", "female", "unknown", "other", "", "MALE"]),
    "address-postalcode": st.one_of(st.sampled_from(["LS6 2AB", "LS6", "M1 4BT", "ZZ"]), NAMES),
    "identifier": st.one_of(
        st.sampled_from(["https://fhir.nhs.uk/Id/nhs-number|9434765919", "9434765919", "x|1"]),
        st.text(max_size=20),
    ),
    "_count": st.one_of(st.integers(min_value=-1, max_value=60).map(str), st.text(max_size=3)),
    "_exact-match": st.sampled_from(["true", "false", "maybe"]),
}
# Half the time the minimum criteria are there (a family name and a date of birth), so searches run.
PARAMETERS = st.one_of(
    st.fixed_dictionaries({}, optional=OPTIONAL),
    st.fixed_dictionaries(
        {
            "family": st.one_of(st.sampled_from(["Hartley", "OKAFOR", "Hartly", "Smith"]), NAMES),
            "birthdate": st.one_of(KNOWN_DATES, KNOWN_DATES.map("eq{}".format), DATES),
        },
        optional={k: v for k, v in OPTIONAL.items() if k not in ("family", "birthdate")},
    ),
)


@HYPOTHESIS
@given(params=PARAMETERS)
def test_any_fhir_search_parameters_get_a_valid_bundle_or_operation_outcome(index, searcher, params):
    response = fhir_search(searcher[0], **params)
    assert response.status_code in (200, 400), (params, response.content[:300])
    event(f"status {response.status_code}")
    resource = valid_r4(response.json())
    if response.status_code == 400:
        assert resource["resourceType"] == "OperationOutcome"
        return
    assert resource["type"] == "searchset"
    count = int(params.get("_count") or 20)
    matches = [e for e in resource["entry"] if e["search"]["mode"] == "match"]
    assert len(matches) <= count
    assert all(0 <= e["search"]["score"] <= 1 for e in matches)


@HYPOTHESIS
@given(
    srid=st.sampled_from(sorted(PEOPLE)),
    with_given=st.booleans(),
    with_gender=st.booleans(),
    case=st.sampled_from([str.upper, str.lower, str.title]),
)
def test_a_childs_own_details_find_that_child(index, searcher, srid, with_given, with_gender, case):
    details = PEOPLE[srid]
    params = {"family": case(details["family_name"]), "birthdate": details["date_of_birth"]}
    if with_given:
        params["given"] = case(details["given_name"])
    if with_gender:
        params["gender"] = details["gender"]
    bundle = valid_r4(fhir_search(searcher[0], **params).json())
    assert index[srid] in [e["resource"]["id"] for e in bundle["entry"]], params


@pytest.mark.parametrize("born", [datetime.date(2015, 3, 14), None])
def test_the_search_body_is_what_its_documented_serializer_renders(born):
    from contactpoint.api.search import SearchOut, search_out
    from contactpoint.search.selectors import SearchHit, SearchResult

    hit = SearchHit(
        id="CP4T7KQ2M9XB0RZ",
        score=97,  # an int from a caller is still a JSON number with a fraction, as the schema says
        given_name="William",
        family_name="Hartley",
        date_of_birth=born,
        gender="male",
        postcode_district="LS6",
        matched=("family_name", "date_of_birth"),
        shielded=False,
    )
    for result in (SearchResult(hits=[hit, hit], too_many=False), SearchResult(hits=[], too_many=True)):
        documented = SearchOut(
            {"results": result.hits, "count": len(result.hits), "too_many": result.too_many}
        )
        assert json.dumps(search_out(result)) == json.dumps(documented.data)  # types and order too
