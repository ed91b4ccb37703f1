"""Django's Redis cache, keeping its Redis client instead of building one for every call.

Django's client makes a new `redis.Redis` around the same connection pool on each cache call, and
building one (its table of reply handlers) cost more than the call's round trip: every API call
passes the rate limit, which is one or two cache calls. Django keeps a cache object per thread,
so each thread keeps its own client, as it keeps its own pool.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


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
