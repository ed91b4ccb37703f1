"""Bearer tokens (from `create_user --api-token`) for case-management systems.

A missing, unknown, expired or revoked token is a 401 with `WWW-Authenticate: Bearer`; a valid
token whose account is suspended or no longer vetted is a 403 that says why, because a new token
would not help.
"""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from contactpoint.access.actors import AccountSuspended, Actor, NotVetted
from contactpoint.access.services import api_token_authenticate

REALM = "ContactPoint"


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
            raise InvalidToken("Send the token as 'Authorization: Bearer <token>'.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidToken("The token is not valid.") from exc
        try:
            actor = api_token_authenticate(raw=raw)
        except (NotVetted, AccountSuspended) as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        except DjangoPermissionDenied as exc:
            raise InvalidToken(str(exc) or "The token is not valid.") from exc
        key = hashlib.sha256(raw.encode()).hexdigest()
        return TokenUser(actor), ApiCredentials(actor=actor, token_key=key, prefix=raw[:12])

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


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
