import pytest
from django.contrib.auth import get_user_model

from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.linkage.blind import index_keys_forget
from contactpoint.records.tests.factories import SourceFactory


@pytest.fixture
def source(db):
    return SourceFactory()


@pytest.fixture
def admin_client(client):
    """A system administrator with staff rights in the Django admin, signed in with a fresh second factor."""
    profile = make_user("admin-383", "system_admin", organisation="383")
    get_user_model().objects.filter(pk=profile.user_id).update(is_staff=True, is_superuser=True)
    sign_in_verified(client, get_user_model().objects.get(pk=profile.user_id))
    return client


@pytest.fixture(autouse=True)
def _index_keys_forgotten():
    """Each test's database starts without the index key an earlier test's process remembers."""
    index_keys_forget()
    yield
    index_keys_forget()
