"""Contract tests for subscribing to changes and the emergency-lookups read."""

from contactpoint.access.actors import Actor
from contactpoint.access.models import Profile
from contactpoint.notifications.models import Delivery, DeliveryStatus, Event, WebhookEndpoint
from contactpoint.notifications.services import notifications_dispatch
from contactpoint.notifications.tests.receiver import Receiver
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

from .conftest import client_for

URL = "https://cms.leeds.example.gov.uk/contactpoint-events"


def test_subscribe_list_and_stop(world):
    client = client_for(world.token("cms"))
    created = client.post("/api/v1/subscriptions", {"url": URL, "events": ["shield_added"]}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["events"] == ["shield_added"] and len(body["secret"]) == 64
    assert WebhookEndpoint.objects.get(pk=body["id"]).secret == body["secret"]
    listed = client.get("/api/v1/subscriptions").json()
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    assert client.delete(f"/api/v1/subscriptions/{body['id']}").status_code == 200
    assert client.get("/api/v1/subscriptions").json() == []
    assert client.delete(f"/api/v1/subscriptions/{body['id']}").status_code == 404


def test_bad_subscriptions_are_refused_with_problem_details(world):
    client = client_for(world.token("cms"))
    for payload, field in (
        ({"url": "http://cms.example/hook"}, "url"),
        ({"url": URL, "events": ["gossip"]}, "events"),
        ({"url": URL, "case_notes": "x"}, "case_notes"),
    ):
        response = client.post("/api/v1/subscriptions", payload, format="json")
        assert response.status_code == 400, payload
        assert response["Content-Type"] == "application/problem+json"
        assert field in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_another_organisations_subscription_is_404_and_roles_without_records_are_403(world):
    mine = client_for(world.token("cms"))
    made = mine.post("/api/v1/subscriptions", {"url": URL}, format="json").json()
    theirs = client_for(world.token("other-cms", organisation=world.gp))
    assert theirs.delete(f"/api/v1/subscriptions/{made['id']}").status_code == 404
    assert theirs.get(f"/api/v1/subscriptions/{made['id']}/dead-letters").status_code == 404
    auditor = client_for(world.token("aud", "auditor", world.la))
    assert auditor.post("/api/v1/subscriptions", {"url": URL}, format="json").status_code == 403
    assert client_for(None).get("/api/v1/subscriptions").status_code == 401


def test_dead_letters_are_listed_and_sent_again(world, settings):
    settings.CONTACTPOINT_WEBHOOK_ALLOW_HTTP = True
    settings.CONTACTPOINT_WEBHOOK_MAX_ATTEMPTS = 1
    team = client_for(world.token("team-cms", "la_management", world.la))
    with Receiver() as receiver:
        made = team.post("/api/v1/subscriptions", {"url": receiver.url}, format="json").json()
        receiver.secret, receiver.answers = made["secret"], [500]
        world.shield()
        notifications_dispatch()
        dead = team.get(f"/api/v1/subscriptions/{made['id']}/dead-letters").json()
        assert [d["event"] for d in dead] == ["shield_added"]
        assert dead[0]["child"] == world.child.contactpoint_id and dead[0]["last_error"]
        retried = team.post(f"/api/v1/subscriptions/{made['id']}/dead-letters/{dead[0]['id']}/retry")
        assert retried.status_code == 202
        notifications_dispatch()
        assert Delivery.objects.get(pk=dead[0]["id"]).status == DeliveryStatus.DELIVERED
        assert len(receiver.acted_on) == 1
    assert team.get(f"/api/v1/subscriptions/{made['id']}/dead-letters").json() == []


def test_an_emergency_token_lookup_is_seen_by_the_responsible_team_only(world):
    from contactpoint.notifications.models import PostcodeDistrict

    PostcodeDistrict.objects.create(district="LS6", local_authority=world.la)
    hospital = OrganisationFactory(
        kind=OrganisationKind.SERVICE_PROVIDER, code="RR8", local_authority=world.la
    )
    user = world.user("ae", "practitioner", hospital)
    Profile.objects.filter(user=user).update(unscheduled_care=True)
    from contactpoint.access.services import api_token_issue

    ae = client_for(api_token_issue(user=user, name="ae"))
    assert ae.get(f"/api/v1/children/{world.child.contactpoint_id}").status_code == 200
    assert Event.objects.filter(kind="emergency_lookup").count() == 1
    team = client_for(world.token("team-cms", "la_management", world.la))
    lookups = team.get(f"/api/v1/children/{world.child.contactpoint_id}/emergency-lookups")
    assert lookups.status_code == 200
    assert [x["organisation_code"] for x in lookups.json()] == ["RR8"]
    other_team = client_for(world.token("other-team", "la_management", world.other_la, area=world.other_la))
    assert (
        other_team.get(f"/api/v1/children/{world.child.contactpoint_id}/emergency-lookups").status_code == 403
    )
    no_reason = client_for(world.token("team-cms"), reason=None)
    assert (
        no_reason.get(f"/api/v1/children/{world.child.contactpoint_id}/emergency-lookups").status_code == 400
    )
    assert Actor  # the team reads through the door like any record read
