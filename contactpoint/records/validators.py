"""Check-character validation for the identifiers the index holds.

The arithmetic comes from python-stdnum (maintained, with published test vectors) rather than
being re-derived here; these wrappers only turn its exceptions into messages a data manager
can act on.
"""

import re

from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.gb import nhs, upn

POSTCODE_RE = re.compile(r"^(GIR 0AA|[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-HJKMNPR-Y]? [0-9][ABD-HJLNP-UW-Z]{2})$")


def normalise_nhs_number(value: str) -> str:
    try:
        return nhs.validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(
            f"NHS number {value!r} fails its modulus 11 check digit.", code="nhs_check_digit"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(f"NHS number {value!r} must be exactly 10 digits.", code="nhs_format") from exc


def normalise_upn(value: str) -> str:
    try:
        return upn.validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(f"UPN {value!r} has the wrong check letter.", code="upn_check_letter") from exc
    except stdnum_errors.InvalidComponent as exc:
        raise ValidationError(
            f"UPN {value!r} does not carry a known local authority number.", code="upn_la"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            f"UPN {value!r} must be 13 characters: a check letter, 11 digits and a digit or letter.",
            code="upn_format",
        ) from exc


def normalise_postcode(value: str) -> str:
    """UK postcodes in their display form (outward code, one space, inward code)."""
    compact = re.sub(r"\s+", "", value).upper()
    candidate = f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    if not POSTCODE_RE.match(candidate):
        raise ValidationError(f"{value!r} is not a UK postcode.", code="postcode_format")
    return candidate


def nhs_check_digit(first_nine: str) -> int | None:
    """The tenth digit that makes a valid NHS number, or None when no digit can (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def upn_check_letter(last_twelve: str) -> str:
    return upn.calc_check_digit(last_twelve)
