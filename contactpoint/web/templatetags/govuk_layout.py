"""Lets a page written in Django's template language sit in the GOV.UK layout.

`web/base.html` wraps its title and content blocks in `{% govuk_page %}`, which renders the
Jinja2 layout around them. Pages other apps write in Django templates (`{% extends "web/base.html" %}`
with `title` and `content` blocks) thus get the same header, navigation, banners and footer.
"""

from django import template
from django.template.base import Node, NodeList, Parser, Token
from django.template.loader import get_template
from django.utils.safestring import mark_safe

register = template.Library()


class GovukPageNode(Node):
    def __init__(self, title: NodeList, content: NodeList):
        self.title, self.content = title, content

    def render(self, context) -> str:
        page = get_template("web/bridge.html", using="jinja2")
        values = {
            "bridged_title": self.title.render(context).strip(),
            "bridged_content": mark_safe(self.content.render(context)),  # noqa: S308 - rendered, escaped DTL
        }
        return page.render(values, request=context.get("request"))


@register.tag
def govuk_page(parser: Parser, token: Token) -> GovukPageNode:
    title = parser.parse(("page_content",))
    parser.delete_first_token()
    content = parser.parse(("end_govuk_page",))
    parser.delete_first_token()
    return GovukPageNode(title, content)
