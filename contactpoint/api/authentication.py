"""Bearer tokens (from `create_user --api-token`) for case-management systems.

A missing, unknown, expired or revoked token is a 401 with `WWW-Authenticate: Bearer`; a valid
token whose account is suspended or no longer vetted is a 403 that says why, because a new token
would not help.

Every refused token is a failed sign-in in the audit log, like a refused password, but a flood
must not bloat the log: each address gets at most FAILURES_AUDITED_PER_ADDRESS events a window,
and all addresses together FAILURES_AUDITED_OVERALL; the attempts held back are counted, and the
address's next audited failure carries that count (`held_back`). The counters live in the shared
cache (CACHE_URL), like the rate limits.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from contactpoint.access.actors import AccountSuspended, Actor, NotVetted
from contactpoint.access.services import api_token_authenticate
from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record

REALM = "ContactPoint"
FAILURE_WINDOW_SECONDS = 60
FAILURES_AUDITED_PER_ADDRESS = 5
FAILURES_AUDITED_OVERALL = 100
HELD_BACK_KEEP_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class TokenUser:
    """request.user for API calls: who the token acts for. The actor carries what they may do."""

    actor: Actor
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> int:
        return self.actor.user_id


@dataclass(frozen=True)
class ApiCredentials:
    """request.auth: the actor, and a key for the token that is safe to use in caches and logs."""

    actor: Actor
    token_key: str
    prefix: str


class InvalidToken(exceptions.AuthenticationFailed):
    """RFC 6750: a token was sent but is not usable; the challenge says so."""


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TokenUser, ApiCredentials] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise _refused(request, "", InvalidToken("Send the token as 'Authorization: Bearer <token>'."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise _refused(request, "", InvalidToken("The token is not valid.")) from exc
        try:
            actor = api_token_authenticate(raw=raw)
        except (NotVetted, AccountSuspended) as exc:
            raise _refused(request, raw, exceptions.PermissionDenied(str(exc))) from exc
        except DjangoPermissionDenied as exc:
            raise _refused(request, raw, InvalidToken(str(exc) or "The token is not valid.")) from exc
        key = hashlib.sha256(raw.encode()).hexdigest()
        return TokenUser(actor), ApiCredentials(actor=actor, token_key=key, prefix=raw[:12])

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


def _refused[E: exceptions.APIException](request: Request, raw: str, refusal: E) -> E:
    """Audit a refused token (within the flood limits), then hand back the refusal to raise."""
    address = str(request.META.get("REMOTE_ADDR", ""))[:64]
    held_key = f"cp:api-auth-failed:held:{address}"
    if not (
        _within(f"cp:api-auth-failed:{address}", FAILURES_AUDITED_PER_ADDRESS)
        and _within("cp:api-auth-failed:all", FAILURES_AUDITED_OVERALL)
    ):
        if not cache.add(held_key, 1, HELD_BACK_KEEP_SECONDS):
            try:
                cache.incr(held_key)
            except ValueError:  # it expired in between
                cache.set(held_key, 1, HELD_BACK_KEEP_SECONDS)
        return refusal
    held_back = cache.get(held_key, 0)
    cache.delete(held_key)
    audit_record(
        event_type=EventType.SIGN_IN_FAILED,
        outcome=Outcome.DENIED,
        client=f"{address} api token {raw[:12]}".strip() if raw else address,
        details={
            "channel": "api",
            "status": refusal.status_code,
            "refused": str(refusal.detail)[:200],
            "held_back": held_back,
        },
    )
    return refusal


def _within(key: str, limit: int) -> bool:
    """Count one more in this window; whether the count is still within the limit."""
    cache.add(key, 0, FAILURE_WINDOW_SECONDS)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the window ended between the two calls
        cache.set(key, 1, FAILURE_WINDOW_SECONDS)
        return True


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the bearer token in the OpenAPI document."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `contactpoint create_user … --api-token`.",
        }
