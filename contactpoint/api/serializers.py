"""Output serializers mirror the door's ChildRecordView field for field: they read only what the
view holds, so the API cannot show more than the access rules let through. Input serializers
refuse any field they do not declare (domain.md section 1: a field outside the statutory list is
an error, never silently dropped)."""

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contactpoint.records.models import AddressStatus, ReturnIntent, SensitiveBasis, ServiceType
from contactpoint.records.validators import normalise_postcode


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Not a field ContactPoint holds; it cannot be stored."] for name in unknown}
                )
        return super().to_internal_value(data)


class NameOut(serializers.Serializer):
    given_name = serializers.CharField()
    middle_names = serializers.CharField()
    family_name = serializers.CharField()


class ContactOut(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    title = serializers.CharField()


class OrganisationOut(ContactOut):
    kind = serializers.CharField(help_text="The organisation's kind (local_authority, school, …).")
    code = serializers.CharField(help_text="Its code in its own register: LA number, URN or ODS code.")


class AddressOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=AddressStatus.choices)
    return_intent = serializers.CharField()
    address_line_1 = serializers.CharField()
    address_line_2 = serializers.CharField()
    town = serializers.CharField()
    postcode = serializers.CharField()


class IdentifierOut(serializers.Serializer):
    scheme = serializers.CharField(help_text="nhs_number, upn, or the issuing system's name.")
    value = serializers.CharField()


class CarerOut(serializers.Serializer):
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    relationship = serializers.CharField()
    has_parental_responsibility = serializers.BooleanField(allow_null=True)
    contact = ContactOut(allow_null=True, help_text="Absent (null) when the child is shielded from you.")


class SettingOut(serializers.Serializer):
    organisation = OrganisationOut()
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)


class InvolvementOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The involvement's reference, for changing it.")
    organisation = OrganisationOut()
    service_type = serializers.ChoiceField(choices=ServiceType.choices)
    practitioner = ContactOut(allow_null=True)
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    is_sensitive = serializers.BooleanField()
    has_caf = serializers.BooleanField()
    is_lead_professional = serializers.BooleanField()
    etag = serializers.SerializerMethodField(help_text="Send it back in If-Match to change the involvement.")

    def get_etag(self, involvement) -> str:
        return f'"{involvement.version}"'


class ChildRecordOut(serializers.Serializer):
    id = serializers.CharField(source="contactpoint_id", help_text="The ContactPoint ID.")
    shielded = serializers.BooleanField()
    restricted = serializers.BooleanField(help_text="True when the shield hides the record's other fields.")
    name = NameOut(allow_null=True)
    former_names = NameOut(many=True)
    gender = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    address = AddressOut(allow_null=True)
    identifiers = serializers.SerializerMethodField(help_text="Only those your organisation issued.")
    carers = CarerOut(many=True)
    schools = SettingOut(many=True)
    gp_practices = SettingOut(many=True)
    involvements = InvolvementOut(many=True)

    @extend_schema_field(IdentifierOut(many=True))
    def get_identifiers(self, record) -> list[dict[str, str]]:
        return [{"scheme": scheme, "value": value} for scheme, value in record.identifiers]


class PractitionerIn(StrictSerializer):
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    job_title = serializers.CharField(max_length=120, required=False, default="")
    phone = serializers.CharField(max_length=40, required=False, default="")
    email = serializers.EmailField(required=False, default="")


class InvolvementIn(StrictSerializer):
    service_type = serializers.ChoiceField(choices=ServiceType.choices)
    start_date = serializers.DateField(required=False, help_text="Defaults to today.")
    practitioner = PractitionerIn(required=False, help_text="Who to contact (defaults to nobody named).")
    sensitive_basis = serializers.ChoiceField(
        choices=SensitiveBasis.choices,
        required=False,
        default="",
        help_text="Required for sexual health, mental health and substance misuse services.",
    )
    has_caf = serializers.BooleanField(required=False, default=False)
    is_lead_professional = serializers.BooleanField(required=False, default=False)


class InvolvementChangeIn(StrictSerializer):
    end_date = serializers.DateField(required=False, help_text="Ends the involvement (and any lead role).")
    is_lead_professional = serializers.BooleanField(required=False)
    has_caf = serializers.BooleanField(required=False, help_text="A CAF assessment exists (not stored).")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Send at least one of end_date, is_lead_professional, has_caf.")
        return attrs


class AddressIn(StrictSerializer):
    status = serializers.ChoiceField(choices=AddressStatus.choices, default=AddressStatus.CURRENT)
    return_intent = serializers.ChoiceField(choices=ReturnIntent.choices, required=False, default="")
    address_line_1 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    address_line_2 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    town = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=8, required=False, default="", allow_blank=True)
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_postcode(self, value: str) -> str:
        return normalise_postcode(value) if value else value


class AddressReportOut(serializers.Serializer):
    source = serializers.CharField(help_text="The source your organisation reports as.")  # type: ignore[assignment]
    source_record_id = serializers.CharField()
    asserted_at = serializers.DateTimeField()
    shown = serializers.BooleanField(
        help_text="Whether the record now shows this address (a more authoritative source may win)."
    )


class FeedReportOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["loaded", "already_loaded", "queued"])
    feed_file = serializers.IntegerField(allow_null=True)
    task = serializers.CharField(allow_null=True, help_text="The queued load's id, when queued.")
    report = serializers.DictField(allow_null=True, help_text="Counts, quarantine reasons and warnings.")


class FeedFileIn(StrictSerializer):
    file = serializers.FileField(help_text="A feed file in the canonical CSV (docs/feeds.md).")
    extracted_at = serializers.DateTimeField(required=False, help_text="When the source extracted it.")


class FeedTaskOut(serializers.Serializer):
    task = serializers.CharField()
    status = serializers.CharField(help_text="READY, RUNNING, SUCCESSFUL or FAILED.")
    source = serializers.CharField()  # type: ignore[assignment]
    report = serializers.DictField(allow_null=True, help_text="The load report, once loaded.")
