"""Rate limits per token, so one misbehaving system cannot starve the others sharing its address."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import ApiCredentials


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        # Read at each request, not at import, so the rate follows the settings (and tests' overrides).
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else None

    def get_cache_key(self, request, view) -> str | None:
        credentials = request.auth
        ident = credentials.token_key if isinstance(credentials, ApiCredentials) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FeedRateThrottle(TokenRateThrottle):
    """Feed files are heavy: a separate, lower limit."""

    scope = "feed"
