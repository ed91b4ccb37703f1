from unittest import mock

import pytest
from django.contrib import admin
from django.db import DatabaseError
from django.urls import reverse

from contactpoint.records.models import Child
from contactpoint.records.statutory import STATUTORY_FIELDS
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
    client.force_login(user)
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert child.contactpoint_id not in response.content.decode()
    assert response.context["stats"]["children"] == Child.objects.count() == 1


def test_the_admin_does_not_register_child_data_models():
    registered = {model.__name__ for model in admin.site._registry}
    child_data = set(STATUTORY_FIELDS)
    assert registered & child_data == set()
    assert {"Organisation", "Source", "Profile"} <= registered
