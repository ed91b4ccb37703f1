"""Django's Redis cache, keeping its Redis client instead of building one for every call.

Django's client makes a new `redis.Redis` around the same connection pool on each cache call, and
building one (its table of reply handlers) cost more than the call's round trip: every API call
passes the rate limit, which is one or two cache calls. Django keeps a cache object per thread,
so each thread keeps its own client, as it keeps its own pool.
"""

import hashlib
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import NoScriptError


class _KeptClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: dict[bool, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        client = self._kept.get(write)
        if client is None:  # the writers' pool or the readers' (one server: the same pool)
            client = self._kept[write] = super().get_client(key, write=write)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _KeptClient

    def count(self, key: str, timeout: int) -> int:
        """One more in `key`, which lives `timeout` seconds from its first count; the count so far.

        One round trip, atomic: a script INCRs the key and, if this made it, sets its expiry.
        Django's `incr` asks whether the key exists first (a round trip of its own) and refuses a
        missing key, so a window's first call also needed `add`."""
        name = self.make_and_validate_key(key)
        client = self._cache.get_client(name, write=True)
        try:
            return int(client.evalsha(_COUNT_SHA, 1, name, timeout))
        except NoScriptError:  # a restarted Redis has forgotten the script: give it again
            client.script_load(_COUNT)
            return int(client.evalsha(_COUNT_SHA, 1, name, timeout))


_COUNT = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)
_COUNT_SHA = hashlib.sha1(_COUNT.encode()).hexdigest()  # noqa: S324 (Redis names scripts by their SHA-1)
