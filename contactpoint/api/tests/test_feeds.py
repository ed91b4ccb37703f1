"""Feed files over HTTPS: the same load as `load_feed`, for sources the caller's organisation runs."""

import io

import pytest
from django.test import override_settings

from contactpoint.feeds.models import FeedFile, SourceRecord
from contactpoint.feeds.tests.helpers import child_row, write_csv
from contactpoint.records.tests.factories import SourceFactory

from .conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(world, tmp_path, settings):
    settings.CONTACTPOINT_FEED_UPLOAD_DIR = tmp_path / "uploads"
    source = SourceFactory(code="leeds_cs", organisation=world.la)
    path = write_csv(
        tmp_path / "leeds.csv", [child_row("A1"), child_row("A2", given_name="Ben"), child_row("")]
    )
    return source, path


def submit(client, source_code, path, name="leeds.csv"):
    upload = io.BytesIO(path.read_bytes())
    upload.name = name
    return client.post(f"/api/v1/feeds/{source_code}/files", {"file": upload}, format="multipart")


def test_a_data_manager_submits_a_small_file_and_gets_the_load_report(world, feed):
    source, path = feed
    client = client_for(world.token("dm", "data_manager", world.la), reason=None)
    response = submit(client, source.code, path)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "loaded"
    assert (body["report"]["loaded"], body["report"]["quarantined"]) == (2, 1)
    assert SourceRecord.objects.filter(source=source).count() == 2
    again = submit(client, source.code, path).json()
    assert again["status"] == "already_loaded" and FeedFile.objects.count() == 1


@override_settings(CONTACTPOINT_API_FEED_SYNC_MAX_BYTES=10)
def test_a_large_file_is_queued(world, feed):
    source, path = feed
    client = client_for(world.token("dm", "data_manager", world.la), reason=None)
    response = submit(client, source.code, path)
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["task"]
    assert SourceRecord.objects.filter(source=source).count() == 2  # the test task backend runs at once


def test_only_the_sources_own_data_managers_may_submit(world, feed):
    source, path = feed
    assert submit(client_for(world.token("pat")), source.code, path).status_code == 403
    elsewhere = client_for(world.token("dm2", "data_manager", world.nhs))
    assert submit(elsewhere, source.code, path).status_code == 403
    assert submit(elsewhere, "no_such_source", path).status_code == 404
    assert SourceRecord.objects.count() == 0


def test_an_unreadable_file_is_400_and_loads_nothing(world, feed, tmp_path):
    source, _ = feed
    client = client_for(world.token("dm", "data_manager", world.la), reason=None)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00not,a,feed\n")
    response = submit(client, source.code, garbage)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["file"]
    assert SourceRecord.objects.count() == 0
    assert client.post(f"/api/v1/feeds/{source.code}/files", {}, format="multipart").status_code == 400


@pytest.mark.django_db(transaction=True)  # the worker commits and closes its connections
@override_settings(
    CONTACTPOINT_API_FEED_SYNC_MAX_BYTES=10,
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}},
)
def test_a_queued_load_can_be_followed_by_its_submitter_until_the_worker_loads_it(world, feed):
    from django.core.management import call_command

    source, path = feed
    client = client_for(world.token("dm", "data_manager", world.la), reason=None)
    task = submit(client, source.code, path).json()["task"]
    waiting = client.get(f"/api/v1/feeds/tasks/{task}")
    assert waiting.status_code == 200 and waiting.json()["status"] == "READY"
    assert waiting.json()["report"] is None
    others = client_for(world.token("dm2", "data_manager", world.nhs), reason=None)
    assert others.get(f"/api/v1/feeds/tasks/{task}").status_code == 404
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
    done = client.get(f"/api/v1/feeds/tasks/{task}").json()
    assert done["status"] == "SUCCESSFUL" and done["report"]["loaded"] == 2
    assert client.get("/api/v1/feeds/tasks/not-a-task").status_code == 404
