"""Acts in the Django admin are audit events, written in their transaction, holding no one's name."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.urls import reverse

from contactpoint.access.tests.factories import make_user
from contactpoint.access.tests.test_admin_reauth import _rename
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.records.models import Organisation, OrganisationKind, Practitioner
from contactpoint.records.tests.factories import PractitionerFactory
from contactpoint.tests.test_every_path_audits import audit_log_refuses_writes

pytestmark = pytest.mark.django_db


def _admin_events():
    return AuditEvent.objects.filter(details__action__startswith="admin_").order_by("pk")


def test_a_change_is_an_event_with_actor_client_and_changed_fields(admin_client):
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    assert (
        _rename(admin_client, leeds, "Leeds City Council (renamed)", REMOTE_ADDR="10.1.2.3").status_code
        == 302
    )
    (event,) = _admin_events()
    assert event.event_type == EventType.ADMIN
    assert event.actor_username == "admin-383" and event.actor_role == "system_admin"
    assert event.client.startswith("10.1.2.3")
    assert event.details == {
        "action": "admin_change",
        "model": "records.organisation",
        "objects": [str(leeds.pk)],
        "changed_fields": ["Name"],
    }


def test_a_change_of_someones_role_is_reported_as_a_role_change(admin_client):
    target = make_user("p-383", organisation="383")
    get_user_model().objects.filter(pk=target.user_id).update(is_active=False)
    page = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [target.user_id], "post": "yes"},
    )
    assert page.status_code == 302
    (event,) = _admin_events()
    assert event.event_type == EventType.ROLE_OR_VETTING
    assert event.details["action"] == "admin_delete" and event.details["objects"] == [str(target.user_id)]


def test_deleting_several_names_each_and_no_names_of_people(admin_client):
    people = [
        PractitionerFactory(given_name="Zebedee", family_name="Quixley"),
        PractitionerFactory(given_name="Ysolde", family_name="Quixley"),
    ]
    answer = admin_client.post(
        reverse("admin:records_practitioner_changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in people], "post": "yes"},
    )
    assert answer.status_code == 302 and not Practitioner.objects.filter(family_name="Quixley").exists()
    (event,) = _admin_events()
    assert sorted(event.details["objects"]) == sorted(str(p.pk) for p in people)
    assert "Quixley" not in str(event.details) and "Zebedee" not in str(event.details)


def test_no_event_no_change(admin_client):
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    before = leeds.name
    with audit_log_refuses_writes(), pytest.raises(DatabaseError):
        _rename(admin_client, leeds, "Never kept")
    leeds.refresh_from_db()
    assert leeds.name == before
    assert not _admin_events().exists()
