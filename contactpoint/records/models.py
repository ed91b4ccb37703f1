"""The statutory child record, and nothing else (domain.md section 1).

Every value a child record holds is an *assertion*: a row that says which source said it,
under which of that source's record ids, and when. Sources disagree, so each item keeps every
assertion and marks the one chosen by the survivorship rule (see services.values_choose);
superseded assertions stay as history. The rules that must hold whatever code writes the rows
(one status per address, valid NHS check digits, one chosen value per item) are database
constraints, because bulk loads do not pass through Python validation.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q

from . import validators


class OrganisationKind(models.TextChoices):
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    SCHOOL = "school", "School or educational setting"
    GP_PRACTICE = "gp_practice", "GP practice"
    SERVICE_PROVIDER = "service_provider", "Service provider"
    VOLUNTARY_BODY = "voluntary_body", "Voluntary body"
    NATIONAL_PARTNER = "national_partner", "National partner"
    NATIONAL_BODY = "national_body", "National body (e.g. NHS England, DWP)"


class Organisation(models.Model):
    """A body that supplies data, employs practitioners or provides a service to a child."""

    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    code = models.CharField(
        max_length=32, help_text="The code its own register gives it: LA number, URN, ODS code."
    )
    name = models.CharField(max_length=200)
    local_authority = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisations_in_area",
        limit_choices_to={"kind": OrganisationKind.LOCAL_AUTHORITY},
        help_text="The local authority area it sits in.",
    )
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address_line_1 = models.CharField(max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    accredited = models.BooleanField(
        default=False, help_text="Only staff of accredited organisations may hold accounts."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="organisation_kind_code_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SupplyObligation(models.TextChoices):
    MUST = "must", "Must supply"
    MAY = "may", "May supply"


class Source(models.Model):
    """A system that asserts values about children (a feed, or the index's own users)."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sources")
    obligation = models.CharField(max_length=8, choices=SupplyObligation.choices)
    authority_rank = models.PositiveSmallIntegerField(
        default=100,
        help_text="Lower ranks win when sources disagree about the same item (survivorship).",
    )
    identifiers_private = models.BooleanField(
        default=True, help_text="Only staff of the issuing body may see identifiers it issued."
    )
    allowed_columns = models.JSONField(
        default=list, blank=True, help_text="Feed columns it may send beyond the canonical ones."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(obligation__in=SupplyObligation.values), name="source_obligation_valid"
            )
        ]

    def __str__(self) -> str:
        return self.code


class Provenanced(models.Model):
    """Where a value came from: the source, the source's own record id, and when it said so."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    source_record_id = models.CharField(max_length=128)
    asserted_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source replaced or withdrew this value."
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=~Q(source_record_id=""), name="%(app_label)s_%(class)s_has_source_record"
            )
        ]
        indexes = [models.Index(fields=["source", "source_record_id"], name="%(app_label)s_%(class)s_src")]


class Child(models.Model):
    """One child. Identity and lifecycle only: every statutory value is an assertion row."""

    contactpoint_id = models.CharField(max_length=20, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # A child found to be another child's duplicate keeps its row, so the ContactPoint ID that
    # practitioners may have noted still resolves (to the survivor), and the merge can be undone.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "children"

    def __str__(self) -> str:
        return self.contactpoint_id


class IssuedContactPointId(models.Model):
    """Every ContactPoint ID ever issued; rows are never deleted, so an ID is never reused."""

    value = models.CharField(max_length=20, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)


class ChildItem(Provenanced):
    child = models.ForeignKey(Child, on_delete=models.CASCADE)

    class Meta(Provenanced.Meta):
        abstract = True


class ChosenItem(ChildItem):
    """An item of which the record shows one value: the survivor among the assertions."""

    is_chosen = models.BooleanField(default=False)

    class Meta(ChildItem.Meta):
        abstract = True
        constraints = [
            *Provenanced.Meta.constraints,
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(is_chosen=True),
                name="%(app_label)s_%(class)s_one_chosen",
            ),
            models.CheckConstraint(
                condition=Q(is_chosen=False) | Q(superseded_at__isnull=True),
                name="%(app_label)s_%(class)s_chosen_not_superseded",
            ),
        ]


def _sealed_field(name: str) -> property:
    """A sealed field as an attribute that can be given (to a new row) but not read back from a
    loaded one: reading goes through records.sealed, with the child's key in the same statement."""

    def get(self: models.Model) -> object:
        try:
            return self.__dict__["_unsealed"][name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__}.{name} is sealed: read it through records.sealed"
            ) from None

    def put(self: models.Model, value: object) -> None:
        self.__dict__.setdefault("_unsealed", {})[name] = value

    return property(get, put)


class SealedRow:
    """A row whose identifying fields (SEALED) are one blob under the child's data key
    (records/sealed.py); each such field is a `_sealed_field` attribute of the model."""

    SEALED: tuple[str, ...] = ()
    SEALED_DATES: tuple[str, ...] = ()  # those of them that are dates (sealed as ISO text)

    @classmethod
    def clear_parts(cls, values: dict) -> dict:
        """Columns kept in the clear that are derived from sealed values (none by default)."""
        return {}

    def save(self, *args, **kwargs) -> None:
        unsealed = self.__dict__.pop("_unsealed", None)
        if unsealed is None and self._state.adding:  # type: ignore[attr-defined]
            unsealed = {}  # a new row given none of them (an address with no fixed address) seals blanks
        if unsealed is not None:
            from . import sealed

            if set(unsealed) != set(self.SEALED) and not self._state.adding:  # type: ignore[attr-defined]
                raise ValueError(
                    f"A stored {type(self).__name__} is re-sealed whole: give every one of {self.SEALED}."
                )
            sealed.instance_seal(self, unsealed)  # type: ignore[arg-type]
            if self._state.adding:  # type: ignore[attr-defined]
                kwargs.setdefault("force_insert", True)
        super().save(*args, **kwargs)  # type: ignore[misc]


class NameKind(models.TextChoices):
    CURRENT = "current", "Current name"
    FORMER = "former", "Former name"


class ChildName(SealedRow, ChosenItem):
    """Given, middle and family names, sealed; former names are kept and searchable. The kind
    stays clear (survivorship chooses among current names)."""

    SEALED = ("given_name", "middle_names", "family_name")
    kind = models.CharField(max_length=8, choices=NameKind.choices, default=NameKind.CURRENT)
    sealed_values = models.BinaryField(blank=True, editable=False)
    given_name = _sealed_field("given_name")
    middle_names = _sealed_field("middle_names")
    family_name = _sealed_field("family_name")

    class Meta(ChosenItem.Meta):
        constraints = [
            *ChosenItem.Meta.constraints,
            models.CheckConstraint(condition=Q(kind__in=NameKind.values), name="childname_kind_valid"),
            models.CheckConstraint(
                condition=Q(is_chosen=False) | Q(kind=NameKind.CURRENT),
                name="childname_chosen_is_current",
            ),
        ]

    def __str__(self) -> str:
        return f"name {self.pk}"

    @classmethod
    def clear_parts(cls, values: dict) -> dict:
        """What the database checked before the names were sealed, now where every writer seals (a
        model's save, a bulk load's `rows_seal`): a name has a given or a family part."""
        if not (values.get("given_name") or values.get("family_name")):
            raise ValidationError("A name needs a given or a family name.", code="name_empty")
        return {}

    def clean(self) -> None:
        given = self.__dict__.get("_unsealed")
        if given is not None:
            self.clear_parts(given)


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    NOT_SPECIFIED = "not_specified", "Not specified"


class ChildGender(ChosenItem):
    gender = models.CharField(max_length=16, choices=Gender.choices)

    class Meta(ChosenItem.Meta):
        constraints = [
            *ChosenItem.Meta.constraints,
            models.CheckConstraint(condition=Q(gender__in=Gender.values), name="childgender_valid"),
        ]


class ChildBirthDate(SealedRow, ChosenItem):
    """The date is sealed; its year stays clear so that retention's daily run opens only the
    children old enough to be due (docs/adr/0010-retention.md)."""

    SEALED = ("date_of_birth",)
    SEALED_CLEAR = ("year_of_birth",)
    sealed_values = models.BinaryField(blank=True, editable=False)
    year_of_birth = models.PositiveSmallIntegerField()
    SEALED_DATES = ("date_of_birth",)
    date_of_birth = _sealed_field("date_of_birth")

    @classmethod
    def clear_parts(cls, values: dict) -> dict:
        born = values["date_of_birth"]
        return {
            "year_of_birth": (
                born if isinstance(born, datetime.date) else datetime.date.fromisoformat(born)
            ).year
        }


class AddressStatus(models.TextChoices):
    CURRENT = "current", "Current address"
    LAST_KNOWN = "last_known", "Last known address"
    NO_FIXED_ADDRESS = "no_fixed_address", "No fixed address"
    LEFT_ENGLAND = "left_england", "Left England"


class ReturnIntent(models.TextChoices):
    RETURNING = "returning", "Returning"
    NOT_RETURNING = "not_returning", "Not returning"
    UNKNOWN = "unknown", "Unknown"


class ChildAddress(SealedRow, ChosenItem):
    """Address or whereabouts. Exactly one status; a return intent only when the child left England.

    The lines, town and postcode are sealed; the status, return intent, dates and local authority
    (area scoping) stay clear."""

    SEALED = ("address_line_1", "address_line_2", "town", "postcode")
    # What the columns held before they were sealed (the database refused longer values).
    SEALED_LENGTHS = {"address_line_1": 200, "address_line_2": 200, "town": 100, "postcode": 8}
    status = models.CharField(max_length=20, choices=AddressStatus.choices)
    return_intent = models.CharField(max_length=16, choices=ReturnIntent.choices, blank=True)
    sealed_values = models.BinaryField(blank=True, editable=False)
    address_line_1 = _sealed_field("address_line_1")
    address_line_2 = _sealed_field("address_line_2")
    town = _sealed_field("town")
    postcode = _sealed_field("postcode")
    local_authority = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.LOCAL_AUTHORITY},
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta(ChosenItem.Meta):
        verbose_name_plural = "child addresses"
        constraints = [
            *ChosenItem.Meta.constraints,
            models.CheckConstraint(
                condition=Q(status__in=AddressStatus.values), name="childaddress_one_valid_status"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=AddressStatus.LEFT_ENGLAND, return_intent__in=ReturnIntent.values)
                    | (~Q(status=AddressStatus.LEFT_ENGLAND) & Q(return_intent=""))
                ),
                name="childaddress_return_intent_only_when_left",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="childaddress_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"address {self.pk}"

    @classmethod
    def clear_parts(cls, values: dict) -> dict:
        """What the database checked before the lines were sealed, where every writer seals (a
        model's save, a bulk load's `rows_seal`): no lines without a fixed address, a first line or
        a postcode for a known one, and the columns' old lengths."""
        status = values.get("status")
        lines = {name: values.get(name) or "" for name in cls.SEALED}
        if status == AddressStatus.NO_FIXED_ADDRESS and (
            lines["address_line_1"] or lines["address_line_2"] or lines["postcode"]
        ):
            raise ValidationError(
                "A child with no fixed address has no address lines or postcode.", code="nfa_lines"
            )
        if status in (AddressStatus.CURRENT, AddressStatus.LAST_KNOWN) and not (
            lines["address_line_1"] or lines["postcode"]
        ):
            raise ValidationError("A known address needs a first line or a postcode.", code="address_empty")
        for name, most in cls.SEALED_LENGTHS.items():
            if len(lines[name]) > most:
                raise ValidationError(
                    f"{name.replace('_', ' ').capitalize()} may be at most {most} characters.",
                    code="too_long",
                )
        return {}

    def clean(self) -> None:
        given = self.__dict__.get("_unsealed")
        if given is not None:
            self.clear_parts({"status": self.status, **given})


class IdentifierScheme(models.TextChoices):
    NHS_NUMBER = "nhs_number", "NHS number"
    UPN = "upn", "Unique pupil number"
    OTHER = "other", "Other (named by its source)"


UPN_FORMAT = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$")


def identifier_check(scheme: str, scheme_name: str, value: str) -> None:
    """What the database checked before identifiers were sealed, for every writer (bulk loads
    too, through `ChildIdentifier.clear_parts`): a value, NHS numbers' ten digits and modulus 11
    check digit, UPNs' shape, and a name for an issuing system's own identifiers."""
    if not value:
        raise ValidationError("An identifier needs a value.", code="identifier_empty")
    if scheme == IdentifierScheme.NHS_NUMBER and validators.normalise_nhs_number(value) != value:
        raise ValidationError(f"NHS number {value!r} must be exactly 10 digits.", code="nhs_format")
    if scheme == IdentifierScheme.UPN and not UPN_FORMAT.match(value):
        raise ValidationError(
            f"UPN {value!r} must be 13 characters: a check letter, 11 digits and a digit or letter.",
            code="upn_format",
        )
    if (scheme == IdentifierScheme.OTHER) != bool(scheme_name):
        raise ValidationError("Only an identifier of another scheme names its system.", code="scheme_name")


def identifier_text(scheme: str, scheme_name: str, value: str) -> str:
    """What an identifier's blind key is the HMAC of; "i:" keeps it apart from candidate keys."""
    return f"i:{scheme}:{scheme_name}:{value}"


class ChildIdentifier(SealedRow, ChildItem):
    """An identifier issued by a body: visible only to that body's staff, searchable by all.

    The value is sealed; `blind_value` is its HMAC under the newest index key (linkage.blind), so
    look-ups (search by NHS number or UPN) and the one-live-assertion constraint never need it in
    the clear, and `rotate_index_key` re-keys it with the candidate index."""

    SEALED = ("value",)
    SEALED_CLEAR = ("blind_value",)
    scheme = models.CharField(max_length=16, choices=IdentifierScheme.choices)
    scheme_name = models.CharField(
        max_length=64, blank=True, help_text="For other identifiers: the issuing system's name."
    )
    sealed_values = models.BinaryField(blank=True, editable=False)
    blind_value = models.BinaryField(max_length=16, editable=False)
    value = _sealed_field("value")
    issuer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")

    class Meta(ChildItem.Meta):
        constraints = [
            *ChildItem.Meta.constraints,
            models.CheckConstraint(
                condition=Q(scheme__in=IdentifierScheme.values), name="childidentifier_scheme_valid"
            ),
            models.CheckConstraint(
                condition=Q(scheme=IdentifierScheme.OTHER, scheme_name__gt="")
                | (~Q(scheme=IdentifierScheme.OTHER) & Q(scheme_name="")),
                name="childidentifier_other_is_named",
            ),
            # Live assertions only: a record re-asserted (changed, or moved back by an unmerge)
            # repeats a value its superseded history already holds.
            models.UniqueConstraint(
                fields=["child", "scheme", "scheme_name", "blind_value", "source", "source_record_id"],
                condition=Q(superseded_at__isnull=True),
                name="childidentifier_unique_assertion",
            ),
        ]
        indexes = [
            *ChildItem.Meta.indexes,
            models.Index(fields=["blind_value"], name="childidentifier_lookup"),
        ]

    @classmethod
    def clear_parts(cls, values: dict) -> dict:
        """The blind key, under the newest index key; checked first (see `identifier_check`)."""
        from contactpoint.linkage.blind import blind, index_keys

        scheme, scheme_name = values["scheme"], values.get("scheme_name") or ""
        identifier_check(scheme, scheme_name, values["value"])
        return {"blind_value": blind(index_keys()[0], identifier_text(scheme, scheme_name, values["value"]))}

    @classmethod
    def blind_values(cls, scheme: str, value: str, scheme_name: str = "") -> list[bytes]:
        """The blind keys a look-up of this identifier matches: one per live index key."""
        from contactpoint.linkage.blind import blinds, index_keys

        return blinds(index_keys(), [identifier_text(scheme, scheme_name, value)])

    def clean(self) -> None:
        given = self.__dict__.get("_unsealed", {})
        if "value" not in given:
            return
        if self.scheme == IdentifierScheme.NHS_NUMBER:
            self.value = validators.normalise_nhs_number(self.value)
        elif self.scheme == IdentifierScheme.UPN:
            self.value = validators.normalise_upn(self.value)
        identifier_check(self.scheme, self.scheme_name, self.value)


class DatedItem(ChildItem):
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta(ChildItem.Meta):
        abstract = True
        constraints = [
            *ChildItem.Meta.constraints,
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="%(app_label)s_%(class)s_dates_ordered",
            ),
        ]


class CarerRelationship(models.TextChoices):
    MOTHER = "mother", "Mother"
    FATHER = "father", "Father"
    STEP_PARENT = "step_parent", "Step-parent"
    GRANDPARENT = "grandparent", "Grandparent"
    OTHER_RELATIVE = "other_relative", "Other relative"
    FOSTER_CARER = "foster_carer", "Foster carer"
    SPECIAL_GUARDIAN = "special_guardian", "Special guardian"
    LOCAL_AUTHORITY = "local_authority", "Local authority (looked after)"
    OTHER = "other", "Other"


class Carer(SealedRow, DatedItem):
    """A person with parental responsibility for, or care of, the child, and how to reach them.
    Names and contact details are sealed; the relationship, responsibility and dates stay clear
    (the targeted scope finds looked-after children by relationship)."""

    SEALED = ("given_name", "family_name", "phone", "email", "address_line_1", "town", "postcode")
    relationship = models.CharField(max_length=20, choices=CarerRelationship.choices)
    has_parental_responsibility = models.BooleanField(default=False)
    sealed_values = models.BinaryField(blank=True, editable=False)
    given_name = _sealed_field("given_name")
    family_name = _sealed_field("family_name")
    phone = _sealed_field("phone")
    email = _sealed_field("email")
    address_line_1 = _sealed_field("address_line_1")
    town = _sealed_field("town")
    postcode = _sealed_field("postcode")

    class Meta(DatedItem.Meta):
        constraints = [
            *DatedItem.Meta.constraints,
            models.CheckConstraint(
                condition=Q(relationship__in=CarerRelationship.values), name="carer_relationship_valid"
            ),
        ]

    def clean(self) -> None:
        """What the fields checked before they were sealed: a family name, and an email that is one."""
        given = self.__dict__.get("_unsealed", {})
        if self._state.adding and not given.get("family_name"):
            raise ValidationError("A carer needs a family name.")
        if given.get("email"):
            validate_email(given["email"])


class EducationSetting(DatedItem):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.SCHOOL},
    )


class GPRegistration(DatedItem):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.GP_PRACTICE},
    )


class Practitioner(Provenanced):
    """A named worker and how to reach them; shown to others working with the same child."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="practitioners")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    job_title = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    class Meta(Provenanced.Meta):
        constraints = [
            *Provenanced.Meta.constraints,
            models.UniqueConstraint(
                fields=["source", "source_record_id"], name="practitioner_one_per_source_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"


class ServiceType(models.TextChoices):
    SOCIAL_CARE = "social_care", "Children's social care"
    EARLY_HELP = "early_help", "Early help"
    HEALTH_VISITING = "health_visiting", "Health visiting"
    SCHOOL_NURSING = "school_nursing", "School nursing"
    EDUCATION_WELFARE = "education_welfare", "Education welfare"
    SEN_SUPPORT = "sen_support", "Special educational needs support"
    YOUTH_JUSTICE = "youth_justice", "Youth justice"
    YOUTH_SUPPORT = "youth_support", "Youth support"
    MENTAL_HEALTH = "mental_health", "Mental health"
    SEXUAL_HEALTH = "sexual_health", "Sexual health"
    SUBSTANCE_MISUSE = "substance_misuse", "Substance misuse"
    OTHER = "other", "Other"


SENSITIVE_SERVICE_TYPES = (
    ServiceType.MENTAL_HEALTH,
    ServiceType.SEXUAL_HEALTH,
    ServiceType.SUBSTANCE_MISUSE,
)


class SensitiveBasis(models.TextChoices):
    CONSENT = "consent", "The child's own consent"
    SIGNIFICANT_HARM = "significant_harm", "Reasonable cause to suspect significant harm (CA 1989 s31)"


class Involvement(DatedItem):
    """A service working with the child: who, from where, since when, and the CAF / lead flags."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="involvements"
    )
    is_sensitive = models.BooleanField(default=False)
    sensitive_basis = models.CharField(max_length=20, choices=SensitiveBasis.choices, blank=True)
    has_caf = models.BooleanField(default=False, help_text="A CAF assessment exists (not stored here).")
    is_lead_professional = models.BooleanField(default=False)

    class Meta(DatedItem.Meta):
        constraints = [
            *DatedItem.Meta.constraints,
            models.CheckConstraint(
                condition=Q(service_type__in=ServiceType.values), name="involvement_service_type_valid"
            ),
            models.CheckConstraint(
                condition=~Q(service_type__in=SENSITIVE_SERVICE_TYPES) | Q(is_sensitive=True),
                name="involvement_sensitive_services_flagged",
            ),
            models.CheckConstraint(
                condition=Q(is_sensitive=True, sensitive_basis__in=SensitiveBasis.values)
                | Q(is_sensitive=False, sensitive_basis=""),
                name="involvement_sensitive_has_basis",
            ),
            models.UniqueConstraint(
                fields=["child"],
                condition=Q(is_lead_professional=True, end_date__isnull=True, superseded_at__isnull=True),
                name="involvement_one_lead_professional",
            ),
        ]
