from unittest import mock

import pytest
from django.db import DatabaseError
from django.urls import reverse

from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.records.models import Child
from contactpoint.records.tests.factories import ChildFactory


@pytest.mark.django_db
def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client):
    with mock.patch("contactpoint.web.views.connection.cursor", side_effect=DatabaseError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_home_needs_sign_in(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


@pytest.mark.django_db
def test_home_shows_counts_but_no_child_data(client, django_user_model):
    child = ChildFactory()
    user = django_user_model.objects.create_user("someone", password="a-long-password-1")
    sign_in_verified(client, user)
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert child.contactpoint_id not in response.content.decode()
    assert response.context["stats"]["children"] == Child.objects.count() == 1
