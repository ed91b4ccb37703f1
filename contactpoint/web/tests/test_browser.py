"""The practitioner's journeys in a real browser (Chromium driven by Playwright) against a live server.

Each page visited is checked with axe-core: no serious or critical accessibility violation may
remain. Screenshots of the main pages go to $CONTACTPOINT_SCREENSHOTS (default var/screenshots);
`CONTACTPOINT_SCREENSHOTS=docs/screenshots make test` refreshes the ones the README shows.
"""

import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import BreakGlassAlert
from contactpoint.access.tests.factories import TEST_PASSWORD
from contactpoint.web.tests.world import World, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
axe_api = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="axe-playwright-python is missing"
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is missing: apt-get install -y chromium"
    ),
    pytest.mark.django_db(transaction=True),
]
KEY_HEX = "3132333435363738393031323334353637383930"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser():
    # Playwright's synchronous API keeps an event loop in this thread; the ORM calls made here
    # between page actions are ordinary blocking calls.
    earlier = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with playwright_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if earlier is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = earlier


@pytest.fixture
def world(tmp_path) -> World:
    world = build_world(tmp_path)
    for user in (world.practitioner, world.other_team):
        TOTPDevice.objects.create(user=user, name="Authenticator", key=KEY_HEX, confirmed=True)
    return world


class Visit:
    """A browser tab that checks accessibility on every page and keeps screenshots of the main ones."""

    axe = axe_api.Axe()

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        self.shots = Path(
            os.environ.get("CONTACTPOINT_SCREENSHOTS") or Path(settings.DATA_DIR) / "screenshots"
        )
        self.shots.mkdir(parents=True, exist_ok=True)
        self.console_errors: list[str] = []
        page.on(
            "console", lambda message: message.type == "error" and self.console_errors.append(message.text)
        )

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.check()

    def check(self, screenshot: str = "") -> None:
        """axe-core on the page as it is now; no CSP violation or script error either."""
        self.page.wait_for_load_state()
        results = self.axe.run(self.page)
        assert results.response["passes"], "axe-core ran no checks"
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in BLOCKING
        ]
        assert blocking == [], f"{self.page.url}: {blocking}"
        assert self.console_errors == [], f"{self.page.url}: {self.console_errors}"
        assert self.page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
        if screenshot:
            self.page.screenshot(path=str(self.shots / f"{screenshot}.png"), full_page=True)

    def submit(self, button: str, screenshot: str = "") -> None:
        self.page.get_by_role("button", name=button).click()
        self.check(screenshot)


def sign_in(visit: Visit, username: str, *, screenshot: bool = False) -> None:
    page = visit.page
    visit.goto(reverse("web:login"))
    if screenshot:
        visit.check("01-sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    visit.submit("Continue", "02-security-code" if screenshot else "")
    totp = TOTP(bytes.fromhex(KEY_HEX))
    totp.time = time.time()
    page.get_by_label("Enter your security code").fill(f"{totp.token():06d}")
    visit.submit("Continue", "03-home" if screenshot else "")
    assert page.get_by_role("heading", name="ContactPoint", exact=True).is_visible()


@pytest.fixture
def visit(browser, live_server):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(10_000)
    yield Visit(context.new_page(), live_server.url)
    context.close()


def test_a_practitioner_finds_a_child_gives_a_reason_and_sees_who_else_is_working_with_them(visit, world):
    page = visit.page
    sign_in(visit, "practitioner-383", screenshot=True)

    page.get_by_role("link", name="Find a child").first.click()
    visit.check()
    visit.submit("Search")  # nothing entered: the error summary says what to add
    summary = page.locator(".govuk-error-summary")
    assert "family name and date of birth" in summary.inner_text()
    visit.check("04-search-errors")

    page.get_by_label("Family name").fill("Khan")
    page.get_by_label("Day").fill("14")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2015")
    visit.submit("Search", "05-search-results")
    results = page.locator("table.govuk-table").inner_text()
    assert "Amelia" in results and "LS6" in results and "LS6 2AB" not in results
    page.get_by_role("link", name="Amelia Khan").click()
    visit.check()
    visit.submit("Show the record")  # no reason chosen
    assert "Select why you need to see" in page.locator(".govuk-error-summary").inner_text()
    page.locator(".govuk-error-summary a").first.click()  # the summary links to the question
    assert page.evaluate("document.activeElement.id") == "id_reason"
    visit.check("06-reason-for-access")
    page.get_by_label("A safeguarding concern about this child").check()
    visit.submit("Show the record", "07-child-record")
    working = page.locator(".govuk-summary-card", has_text="Sam Okafor")
    assert "Lead professional" in working.inner_text() and "CAF" in working.inner_text()
    assert page.get_by_text("Hyde Park Primary School").is_visible()

    page.get_by_role("button", name="Record that you are working with this child").click()
    visit.check("08-my-involvement")
    page.get_by_label("Health visiting").check()
    page.get_by_label("Your job title").fill("Health visitor")
    page.get_by_label("Phone number").fill("0113 555 0101")
    page.get_by_label("Day").fill("6")
    page.get_by_label("Month").fill("1")
    page.get_by_label("Year").fill("2026")
    page.locator("#id_lead-2").check()  # no
    page.locator("#id_caf").check()  # yes
    visit.submit("Continue", "09-check-your-answers")
    assert "6 January 2026" in page.locator(".govuk-summary-list").inner_text()
    visit.submit("Accept and record")
    assert page.get_by_role("heading", name="Your involvement is recorded").is_visible()

    page.get_by_role("link", name="My recent activity").click()
    visit.check("10-recent-activity")
    assert world.child.contactpoint_id in page.locator("table").inner_text()


def test_a_shielded_child_shows_only_its_visible_fields(visit, world):
    page = visit.page
    sign_in(visit, "practitioner-383")
    visit.goto(reverse("web:child", args=[world.shielded.contactpoint_id]))
    page.get_by_label("Contacting another practitioner working with this child").check()
    visit.submit("Show the record", "11-shielded-record")
    body = page.locator("main").inner_text()
    assert "Shielded record" in body and "Lily Morgan" in body and "Sara Morgan" in body
    assert "LS7 3AA" not in body and "Who else is working" not in body
    assert "Contact the ContactPoint team" in body
    assert page.get_by_role("button", name="Override the shield").count() == 0


def test_break_glass_warns_confirms_alerts_and_ends_when_the_user_leaves_the_record(visit, world):
    page = visit.page
    sign_in(visit, "team-352")
    record = reverse("web:child", args=[world.shielded.contactpoint_id])
    visit.goto(record)
    page.get_by_label("A referral or request for help I have received").check()
    visit.submit("Show the record")
    page.get_by_role("button", name="Override the shield").click()
    visit.check("12-break-glass-warning")
    page.get_by_label("A safeguarding concern about this child").check()
    visit.submit("Override the shield and show the record")  # not yet confirmed
    assert "Confirm that you understand" in page.locator(".govuk-error-summary").inner_text()
    visit.check()
    page.get_by_label("I understand that this override is reported").check()
    visit.submit("Override the shield and show the record", "13-break-glass-record")
    assert "Shield overridden" in page.locator("main").inner_text()
    assert "LS7 3AA" in page.locator("main").inner_text()
    assert BreakGlassAlert.objects.filter(child=world.shielded).count() == 1

    visit.goto(record)  # leaving and coming back: the shield is in force again
    page.get_by_label("A referral or request for help I have received").check()
    visit.submit("Show the record")
    assert "LS7 3AA" not in page.locator("main").inner_text()


def test_keyboard_alone_reaches_the_search_from_the_skip_link(visit, world):
    page = visit.page
    sign_in(visit, "practitioner-383")
    visit.goto(reverse("web:search"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused


def test_the_core_journey_works_with_javascript_turned_off(browser, live_server, world):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("web:login"))
        page.get_by_label("Username").fill("practitioner-383")
        page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        totp = TOTP(bytes.fromhex(KEY_HEX))
        totp.time = time.time()
        page.get_by_label("Enter your security code").fill(f"{totp.token():06d}")
        page.get_by_role("button", name="Continue").click()
        page.goto(live_server.url + reverse("web:search"))
        page.get_by_text("Search by an identifier").click()  # a native <details>: no script needed
        page.get_by_label("NHS number").fill("9434765919")
        page.goto(live_server.url + reverse("web:child", args=[world.child.contactpoint_id]))
        page.get_by_label("A safeguarding concern about this child").check()
        page.get_by_role("button", name="Show the record").click()
        assert "Who else is working with this child" in page.locator("main").inner_text()
        assert "js-enabled" not in (page.locator("body").get_attribute("class") or "")
    finally:
        context.close()


def test_a_user_adds_a_security_key_and_signs_in_with_it(visit, world, live_server, settings):
    """Chromium's virtual authenticator stands in for a USB key: the library's own scripts run."""
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    page = visit.page
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    sign_in(visit, "practitioner-383")
    visit.goto(reverse("account:security"))
    with page.expect_navigation():  # the page reloads once the key is registered
        page.get_by_role("button", name="Add a security key or passkey").click()
    visit.check("14-security-keys")
    assert page.get_by_role("term").filter(has_text="Security key 1").is_visible()

    page.get_by_role("button", name="Sign out").click()
    visit.goto(reverse("web:login"))
    page.get_by_label("Username").fill("practitioner-383")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    visit.submit("Continue")
    with page.expect_navigation():
        page.get_by_role("button", name="Use your security key").click()
    visit.check()
    assert page.get_by_role("heading", name="ContactPoint", exact=True).is_visible()
