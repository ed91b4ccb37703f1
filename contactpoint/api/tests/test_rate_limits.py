"""Rate limits count each call once, in a window of the rate's period, across processes."""

import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from contactpoint.api.throttling import TokenRateThrottle, calls_counted

from .conftest import client_for
from .test_child_read import url

LIMITED = override_settings(
    REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min", "feed": "1/min"}}
)


@LIMITED
def test_a_token_gets_its_limit_per_window_and_is_told_when_the_window_ends(world, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: 6000.0 + 40.5)  # 19.5 s before 6060
    first = client_for(world.token("pat"))
    statuses = [first.get(url(world.child.contactpoint_id)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = first.get(url(world.child.contactpoint_id))
    assert limited.status_code == 429 and limited["Retry-After"] == "20"
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: 6060.0)
    assert first.get(url(world.child.contactpoint_id)).status_code == 200


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


COUNT_IN_ANOTHER_PROCESS = """
import sys
import django
django.setup()
from contactpoint.api.cache import RedisCache
from contactpoint.api.throttling import calls_counted
cache = RedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": sys.argv[1]})
print(" ".join(str(calls_counted(cache, "throttle_token_x_1", 60)) for _ in range(50)))
"""


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI and production have it)")
def test_processes_sharing_redis_count_every_call_once():
    prefix = f"test-{uuid.uuid4().hex}"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS, prefix], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    counts = [int(n) for run in runs for n in run.communicate(timeout=60)[0].split()]
    assert all(run.returncode == 0 for run in runs)
    assert sorted(counts) == list(range(1, 201))  # none lost, none counted twice


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI and production have it)")
def test_a_window_counted_in_redis_lives_a_period_from_its_first_call():
    from contactpoint.api.cache import RedisCache

    cache = RedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    client, name = cache._cache.get_client(write=True), cache.make_and_validate_key("window")
    try:
        assert [calls_counted(cache, "window", 60) for _ in range(3)] == [1, 2, 3]
        assert 59 <= client.ttl(name) <= 61
        client.expire(name, 5)  # most of the window gone: later calls do not extend it
        assert calls_counted(cache, "window", 60) == 4
        assert 0 < client.ttl(name) <= 5
        assert cache.get("window") == 4  # Django's cache reads the count as the number it is
    finally:
        client.delete(name)


def test_the_redis_cache_keeps_one_client_per_pool():
    from contactpoint.api.cache import RedisCache

    cache = RedisCache("redis://127.0.0.1:6379/0", {})
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)  # no connection made
