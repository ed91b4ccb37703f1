"""Subscribe to changes (issue 9, docs/notifications.md): a case-management system registers a
webhook for its organisation and is sent, signed, the events its user may know of; it lists
and removes its subscriptions and re-sends dead letters. Also the responsible authority's view
of a child's emergency-setting lookups."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contactpoint.notifications import selectors, services
from contactpoint.notifications.models import DeliveryStatus, EventKind, WebhookEndpoint

from .door import actor_of, record_for
from .examples import PROBLEM_RESPONSES
from .problems import PROBLEM_JSON
from .serializers import StrictSerializer
from .views import CHILD_ID, REASON


class SubscriptionIn(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text="Where events are POSTed; https only.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        required=False,
        default=list,
        help_text="Event kinds to receive; empty or absent for every kind.",
    )


class SubscriptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField(), source="event_kinds")
    created_at = serializers.DateTimeField()


class SubscriptionCreatedOut(SubscriptionOut):
    secret = serializers.CharField(
        help_text="The HMAC-SHA256 key to verify `ContactPoint-Signature` with. Shown only now."
    )


class DeadLetterOut(serializers.Serializer):
    id = serializers.IntegerField()
    idempotency_key = serializers.CharField()
    event = serializers.CharField(source="event.kind")
    child = serializers.CharField(source="event.child.contactpoint_id")
    occurred_at = serializers.DateTimeField(source="event.occurred_at")
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()


class RetryOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class EmergencyLookupOut(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    organisation = serializers.CharField(source="organisation.name")
    organisation_code = serializers.CharField(source="organisation.code")


SUBSCRIPTION = {
    "id": 7,
    "url": "https://cms.leeds.example.gov.uk/contactpoint-events",
    "events": ["address_moved_area", "emergency_lookup"],
    "created_at": "2026-11-22T08:00:00Z",
}
DEAD_LETTER = {
    "id": 88,
    "idempotency_key": "5b0f6f1e0c3a4d7e9a2b8c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
    "event": "address_moved_area",
    "child": "CP4T7KQ2M9XB0RZ",
    "occurred_at": "2026-11-21T09:30:00Z",
    "attempts": 8,
    "last_error": "HTTP 503 from the receiver",
}
SUBSCRIPTION_ID = OpenApiParameter("subscription_id", int, OpenApiParameter.PATH)


def _errors(*codes: int) -> dict:
    return {(code, PROBLEM_JSON): PROBLEM_RESPONSES[code] for code in codes}


def _endpoint(request: Request, subscription_id: int) -> WebhookEndpoint:
    endpoint = selectors.endpoints_for(actor=actor_of(request)).filter(pk=subscription_id).first()
    if endpoint is None:
        raise exceptions.NotFound("Your organisation has no subscription with this id.")
    return endpoint


def _may_subscribe(request: Request):
    actor = actor_of(request)
    try:
        services.check_may_subscribe(actor)
    except PermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc
    return actor


class SubscriptionsApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="subscriptions_list",
        tags=["Subscriptions"],
        summary="List your organisation's webhook subscriptions",
        responses={
            (200, "application/json"): OpenApiResponse(
                SubscriptionOut(many=True), examples=[OpenApiExample("list", value=[SUBSCRIPTION])]
            ),
            **_errors(401, 403, 429),
        },
    )
    def get(self, request: Request, version: str = "v1") -> Response:
        actor = _may_subscribe(request)
        return Response(SubscriptionOut(selectors.endpoints_for(actor=actor), many=True).data)

    @extend_schema(
        operation_id="subscription_create",
        tags=["Subscriptions"],
        summary="Subscribe to changes: register a webhook for your organisation",
        description=(
            "Events about children your organisation works with (or, for an authority, children "
            "in its area) are POSTed to `url`, signed (`ContactPoint-Signature: t=…,v1=…`, "
            "HMAC-SHA256 of `t.body` with the returned secret) with an `Idempotency-Key` that is "
            "the same on every retry: act once per key. Only events the subscribing user may see "
            "are sent; bodies hold IDs and organisations, never a child's details. See "
            "docs/notifications.md."
        ),
        request=SubscriptionIn,
        examples=[
            OpenApiExample(
                "subscribe",
                value={"url": SUBSCRIPTION["url"], "events": SUBSCRIPTION["events"]},
                request_only=True,
            )
        ],
        responses={
            (201, "application/json"): OpenApiResponse(
                SubscriptionCreatedOut,
                examples=[OpenApiExample("created", value={**SUBSCRIPTION, "secret": "9f2c…"})],
            ),
            **_errors(400, 401, 403, 429),
        },
    )
    def post(self, request: Request, version: str = "v1") -> Response:
        actor = _may_subscribe(request)
        data = SubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_subscribe(
            actor=actor, url=data.validated_data["url"], event_kinds=data.validated_data["events"]
        )
        body = {**SubscriptionOut(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class SubscriptionApi(APIView):
    @extend_schema(
        operation_id="subscription_delete",
        tags=["Subscriptions"],
        summary="Stop a subscription (deliveries still queued for it are withheld)",
        parameters=[SUBSCRIPTION_ID],
        responses={
            (200, "application/json"): OpenApiResponse(
                SubscriptionOut, examples=[OpenApiExample("stopped", value=SUBSCRIPTION)]
            ),
            **_errors(401, 403, 404, 429),
        },
    )
    def delete(self, request: Request, subscription_id: int, version: str = "v1") -> Response:
        actor = _may_subscribe(request)
        endpoint = _endpoint(request, subscription_id)
        services.webhook_unsubscribe(actor=actor, endpoint=endpoint)
        return Response(SubscriptionOut(endpoint).data)


class DeadLettersApi(APIView):
    @extend_schema(
        operation_id="subscription_dead_letters",
        tags=["Subscriptions"],
        summary="Deliveries given up after the last retry",
        parameters=[SUBSCRIPTION_ID],
        responses={
            (200, "application/json"): OpenApiResponse(
                DeadLetterOut(many=True), examples=[OpenApiExample("dead letters", value=[DEAD_LETTER])]
            ),
            **_errors(401, 403, 404, 429),
        },
    )
    def get(self, request: Request, subscription_id: int, version: str = "v1") -> Response:
        _may_subscribe(request)
        dead = selectors.dead_letters_for(endpoint=_endpoint(request, subscription_id))[:200]
        return Response(DeadLetterOut(dead, many=True).data)


class DeadLetterRetryApi(APIView):
    @extend_schema(
        operation_id="subscription_dead_letter_retry",
        tags=["Subscriptions"],
        summary="Send a dead letter again (after fixing the receiver)",
        parameters=[SUBSCRIPTION_ID, OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)],
        request=None,
        responses={
            (202, "application/json"): OpenApiResponse(
                RetryOut, examples=[OpenApiExample("queued", value={"id": 88, "status": "pending"})]
            ),
            **_errors(401, 403, 404, 429),
        },
    )
    def post(self, request: Request, subscription_id: int, delivery_id: int, version: str = "v1") -> Response:
        actor = _may_subscribe(request)
        endpoint = _endpoint(request, subscription_id)
        delivery = endpoint.deliveries.filter(pk=delivery_id, status=DeliveryStatus.DEAD).first()
        if delivery is None:
            raise exceptions.NotFound("This subscription has no dead letter with this id.")
        services.dead_letter_retry(actor=actor, delivery=delivery)
        return Response(
            {"id": delivery.pk, "status": DeliveryStatus.PENDING}, status=status.HTTP_202_ACCEPTED
        )


class EmergencyLookupsApi(APIView):
    @extend_schema(
        operation_id="child_emergency_lookups",
        tags=["Children"],
        summary="The child's latest 25 lookups from emergency settings (its authority's team only)",
        parameters=[CHILD_ID, REASON],
        responses={
            (200, "application/json"): OpenApiResponse(
                EmergencyLookupOut(many=True),
                examples=[
                    OpenApiExample(
                        "lookups",
                        value=[
                            {
                                "occurred_at": "2026-11-21T23:14:00Z",
                                "organisation": "Leeds General Infirmary Emergency Department",
                                "organisation_code": "RR801",
                            }
                        ],
                    )
                ],
            ),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, id: str, version: str = "v1") -> Response:
        child, _ = record_for(request, id)  # the door first: reason, audit, who may see the child
        actor = actor_of(request)
        if not selectors.responsible_for(actor, child):
            raise exceptions.PermissionDenied("Only the child's responsible authority's team sees these.")
        return Response(
            EmergencyLookupOut(selectors.emergency_lookups_for(actor=actor, child=child), many=True).data
        )
