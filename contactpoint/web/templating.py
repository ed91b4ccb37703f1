"""The Jinja2 environment for the service's pages: GOV.UK Frontend's own component macros.

The macros come from govuk-frontend-jinja, a line-for-line port of GOV.UK Frontend's Nunjucks
macros checked against each release, so pages use the Design System's markup rather than copies
of it. Django's template language still serves the admin.
"""

import datetime
from typing import Any

from django.contrib.messages import get_messages
from django.forms import BaseForm
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import json_script
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader

from .navigation import navigation_for


def environment(**options: Any) -> Environment:
    options["loader"] = ChoiceLoader(
        [
            options["loader"],
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    env = Environment(**options)  # noqa: S701 - Django's backend turns autoescape on
    env.trim_blocks = env.lstrip_blocks = True
    env.globals.update(
        {
            "url": url,
            "static": static,
            "error_summary": error_summary,
            "field": field,
            "get_messages": get_messages,
            "json_script": json_script,
        }
    )
    env.filters.update(
        {
            "date": format_date,
            "datetime": format_datetime,
            "label": label,
            "full_name": full_name,
            "bar": bar_class,
            "percent": percent,
            "sentence": sentence,
        }
    )
    return env


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def format_date(value: datetime.date | None) -> str:
    """GOV.UK style: 14 March 2015."""
    return f"{value.day} {value:%B %Y}" if value else ""


def format_datetime(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def label(value: str) -> str:
    """A stored code as words: 'social_care' reads 'Social care'."""
    return value.replace("_", " ").capitalize() if value else ""


def bar_class(fraction: float) -> str:
    """A bar's width as one of a fixed set of classes (5 % steps): the CSP forbids inline styles."""
    step = round(max(0.0, min(1.0, float(fraction))) * 20) * 5
    return f"cp-bar--{step}"


def sentence(value: str) -> str:
    """First letter upper case, the rest kept (Jinja's `capitalize` would turn "NHS" into "nhs")."""
    return value[:1].upper() + value[1:] if value else ""


def percent(fraction: float) -> str:
    return f"{float(fraction) * 100:.1f}%"


def full_name(name: Any) -> str:
    return " ".join(part for part in (name.given_name, name.middle_names, name.family_name) if part)


def error_summary(form: BaseForm | None) -> list[dict[str, str]]:
    """The error summary's list: each error links to the field it is about (GOV.UK pattern)."""
    if form is None or not form.errors:
        return []
    items = [{"text": str(error), "href": f"#{_first_id(form, '')}"} for error in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != "__all__":
            items.extend({"text": str(error), "href": f"#{_first_id(form, name)}"} for error in errors)
    return items


def _first_id(form: BaseForm, name: str) -> str:
    """The id the GOV.UK macros give a field's first input (a radio group's first radio is its auto_id)."""
    if not name:
        return next((bound.auto_id for bound in form if bound.auto_id), "main-content")
    return form[name].auto_id or name


def field(form: BaseForm, name: str, **params: Any) -> dict[str, Any]:
    """The parameters a GOV.UK component macro needs for one Django form field."""
    bound = form[name]
    widget_attrs = bound.field.widget.attrs
    value = bound.value()
    result: dict[str, Any] = {
        "id": bound.auto_id or name,
        "name": bound.html_name,
        "label": {"text": str(bound.label)},
        "value": "" if value is None else value,
        "autocomplete": widget_attrs.get("autocomplete"),
        "inputmode": widget_attrs.get("inputmode"),
    }
    if bound.help_text:
        result["hint"] = {"text": str(bound.help_text)}
    if bound.errors:
        result["errorMessage"] = {"text": str(bound.errors[0])}
    for key, extra in params.items():
        result[key] = {**result.get(key, {}), **extra} if isinstance(extra, dict) else extra
    return result


def request_context(request: HttpRequest) -> dict[str, Any]:
    """What every page needs: the signed-in user's navigation and the messages to show."""
    return {"navigation": navigation_for(request)}
