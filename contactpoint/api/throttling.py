"""Rate limits per token, so one misbehaving system cannot starve the others sharing its address.

Each token's calls are counted in a window of the rate's period (a minute for `600/min`) by one
atomic increment in the shared cache (CACHE_URL): Redis's INCR in production, so processes on
every machine count together and none loses another's count. DRF's own throttle instead reads
the token's list of call times and writes it back on every call: two transfers of a list as long
as the limit, and concurrent calls overwrite each other's additions.
"""

from django.core.cache.backends.base import BaseCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import ApiCredentials
from .cache import RedisCache


class TokenRateThrottle(SimpleRateThrottle):
    """A fixed window: at most the limit in each period, so a burst straddling the change of
    window can reach twice the limit in one period's length, never more."""

    scope = "token"

    def get_rate(self) -> str | None:
        # Read at each request, not at import, so the rate follows the settings (and tests' overrides).
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else None

    def get_cache_key(self, request, view) -> str | None:
        credentials = request.auth
        ident = credentials.token_key if isinstance(credentials, ApiCredentials) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        limit, period = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if limit is None or period is None or key is None:
            return True
        self.now = self.timer()
        window = int(self.now // period)
        self.window_ends = (window + 1) * period
        return calls_counted(self.cache, f"{key}_{window}", period) <= limit

    def wait(self) -> float:
        return max(1.0, self.window_ends - self.now)


def calls_counted(cache: BaseCache, key: str, period: int) -> int:
    """This call counted in `key`, which lives a period: the count so far, this call included."""
    if isinstance(cache, RedisCache):
        return cache.count(key, period + 1)  # one round trip
    try:
        return cache.incr(key)
    except ValueError:  # the window's first call (or its key expired)
        if cache.add(key, 1, period + 1):
            return 1
        return cache.incr(key)  # another process made it first


class FeedRateThrottle(TokenRateThrottle):
    """Feed files are heavy: a separate, lower limit."""

    scope = "feed"
