"""The public's pages: /verify answers each case in English and Welsh, /directory/{force}
lists a force's official accounts, both are rate limited like the API, and every text
comes from a catalogue that has it in both languages."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import get_args

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.models.enums import CLASSIFICATIONS, PLATFORMS
from app.public.schemas import Resemblance
from app.web import i18n, pages
from tests.factories import make_account, make_force


@pytest.fixture
async def directory(session):
    staffs = await make_force(session, "staffs", name="Staffordshire Police")
    wmids = await make_force(session, "wmids", name="West Midlands Police")
    for force, handle, classification, status in [
        (staffs, "staffspolice", "corporate", "active"),
        (staffs, "staffspoldogs", "official", "active"),
        (wmids, "wmpolice", "corporate", "active"),
        (staffs, "staffspolicehq", "unofficial", "active"),  # never shown
        (staffs, "staffspolicenew", "official", "pending_approval"),  # never shown
    ]:
        await make_account(
            session, force, platform="x", handle=handle, classification=classification,
            status=status, display_name=f"{force.name} {handle}", url=f"https://x.com/{handle}",
        )  # fmt: skip


class _Page(HTMLParser):
    """The parts of a page the tests read: lang, title, headings, ids, links, text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = ""
        self.title = ""
        self.headings: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.attrs: dict[str, dict[str, str]] = {}
        self.stack: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if "id" in a:
            self.ids.add(a["id"])
            self.attrs[a["id"]] = a
        if tag == "a":
            self.links.append(a.get("href", ""))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        tag = self.stack[-1] if self.stack else ""
        if tag == "title":
            self.title += data
        elif tag in ("h1", "h2", "h3") and data.strip():
            self.headings.append((tag, data.strip()))
        self.text.append(data)

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())


async def _page(client, path: str, status: int = 200, **kw) -> _Page:
    r = await client.get(path, **kw)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    return _Page(r.text)


def test_every_message_is_in_both_catalogues_and_every_template_key_exists():
    en, cy = i18n.catalogue("en"), i18n.catalogue("cy")
    assert en.keys() == cy.keys()
    assert all(v.strip() for v in [*en.values(), *cy.values()])
    for key in en:  # the same fields to fill in both languages
        assert re.findall(r"{(\w+)}", en[key]) == re.findall(r"{(\w+)}", cy[key]), key
    used = set()
    sources = [*pages.TEMPLATES.glob("*.html"), *Path(pages.__file__).parent.glob("*.py")]
    for source in sources:
        text = source.read_text()
        used |= set(re.findall(r"""\bt\(["']([\w.]+)["']""", text))
        used |= set(re.findall(r"""error=["']([\w.]+)["']""", text))
    prefixes = {key for key in used if key.endswith(".")}
    assert prefixes == {"platform.", "kind.", "match."}
    assert used - prefixes <= en.keys(), used - prefixes - en.keys()
    assert {"error.empty", "error.not_social", "limited.title", "notfound.force"} <= used
    # Keys built from a prefix: every platform, public classification and match rule.
    built = [f"platform.{p}" for p in PLATFORMS] + ["kind.corporate", "kind.official"]
    built += [f"match.{m}" for m in get_args(Resemblance.model_fields["match"].annotation)]
    assert set(built) <= en.keys()
    assert set(CLASSIFICATIONS) - {"unofficial"} == {"corporate", "official"}


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("cy-GB,cy;q=0.9,en;q=0.8", "cy"),
        ("en-GB,en;q=0.9,cy;q=0.8", "en"),
        ("fr-FR, cy;q=0.5", "cy"),
        ("fr-FR", "en"),
        ("cy;q=0, en;q=0.1", "en"),
        ("", "en"),
        ("en;q=0.2, cy;q=0.7", "cy"),
    ],
)
def test_the_language_follows_accept_language(header, lang):
    assert i18n.choose(None, header) == lang
    assert i18n.choose("en", header) == "en"  # ?lang= wins
    assert i18n.choose("xx", header) == lang  # unless it names no language of ours


async def test_the_form_has_a_label_a_hint_and_landmarks_in_both_languages(client, directory):
    for lang, title in [("en", "Check if a police"), ("cy", "Gwirio a yw cyfrif")]:
        page = await _page(client, "/verify", params={"lang": lang})
        assert page.lang == lang
        assert page.headings[0][0] == "h1" and page.headings[0][1].startswith(title)
        assert page.attrs["url"]["aria-describedby"] == "url-hint"
        assert {"main-content", "url", "url-hint"} <= page.ids
        assert page.links[0] == "#main-content"  # the skip link comes first
    r = await client.get("/verify", headers={"Accept-Language": "cy-GB,cy;q=0.9"})
    assert _Page(r.text).lang == "cy" and r.headers["content-language"] == "cy"
    assert "Accept-Language" in r.headers["vary"]


async def test_an_official_account_shows_its_force_platform_handle_name_and_link(client, directory):
    page = await _page(client, "/verify", params={"url": "https://x.com/StaffsPolDogs"})
    assert page.headings[0] == ("h1", "This is an official police account")
    assert page.title.startswith("This is an official police account")
    body = page.body
    for shown in ["Staffordshire Police", "X (Twitter)", "@staffspoldogs",
                  "Staffordshire Police staffspoldogs", "https://x.com/staffspoldogs",
                  "An official account of a team or officer"]:  # fmt: skip
        assert shown in body
    assert "/directory/staffs?lang=en" in page.links

    cy = await _page(client, "/verify", params={"url": "https://x.com/staffspolice", "lang": "cy"})
    assert cy.headings[0] == ("h1", "Mae hwn yn gyfrif swyddogol yr heddlu")
    assert "Prif gyfrif yr heddlu" in cy.body


async def test_a_look_alike_is_not_official_names_what_it_imitates_and_how_to_report_it(
    client, directory
):
    page = await _page(client, "/verify", params={"url": "https://x.com/staffs_po1ice"})
    assert page.headings[0] == ("h1", "This is not an official police account")
    assert ("h2", "Official accounts it looks like") in page.headings
    assert ("h2", "How to report an account pretending to be the police") in page.headings
    assert "https://x.com/staffspolice" in page.links
    assert "@staffs_po1ice on X (Twitter) is not in the directory" in page.body
    assert "choose impersonation" in page.body
    # Never an unofficial or pending account, even when it is the closer match.
    assert "staffspolicehq" not in page.body and "staffspolicenew" not in page.body

    cy = await _page(client, "/verify", params={"url": "https://x.com/staffs_po1ice", "lang": "cy"})
    assert cy.headings[0] == ("h1", "Nid yw hwn yn gyfrif swyddogol yr heddlu")
    assert ("h2", "Cyfrifon swyddogol y mae'n edrych yn debyg iddynt") in cy.headings


async def test_an_unknown_account_is_not_official_with_no_look_alikes(client, directory):
    page = await _page(client, "/verify", params={"url": "https://x.com/gardeningclub"})
    assert page.headings[0] == ("h1", "This is not an official police account")
    assert ("h2", "Official accounts it looks like") not in page.headings
    assert ("h2", "How to report an account pretending to be the police") in page.headings
    other = await _page(client, "/verify", params={"url": "https://example.org/about"})
    assert "This link is not in the directory of official UK police accounts." in other.body


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter a link to a social media account"),
        ("hello there", "Enter a link to a social media account, like https://x.com/StaffsPolice"),
        ("https://x.com/", "Enter a link to a social media account, like"),
        ("@staffspolice", "Enter a link to a social media account, like"),
        ("https://x.com/" + "a" * 2100, "The link must be 2,048 characters or fewer"),
    ],
)
async def test_a_link_that_is_no_social_media_address_gets_an_error_summary_linked_to_the_field(
    client, directory, url, message
):
    page = await _page(client, "/verify", 400, params={"url": url})
    assert page.title.startswith("Error: ")
    assert ("h2", "There is a problem") in page.headings
    assert "#url" in page.links  # the summary's link to the field
    field = page.attrs["url"]
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "url-hint url-error"
    assert message in page.body
    assert page.body.count(message) == 2  # in the summary and by the field


async def test_the_welsh_error_summary_is_in_welsh(client, directory):
    page = await _page(client, "/verify", 400, params={"url": "hello", "lang": "cy"})
    assert page.title.startswith("Gwall: ")
    assert ("h2", "Mae problem wedi codi") in page.headings


async def test_the_language_link_keeps_the_question(client, directory):
    r = await client.get("/verify", params={"url": "https://x.com/staffspolice"})
    assert "/verify?url=https%3A%2F%2Fx.com%2Fstaffspolice&amp;lang=cy" in r.text


async def test_the_pages_are_counted_by_the_public_rate_limit_and_say_so(settings, db):
    limited = Settings(**{**settings.model_dump(), "public_rate_limit": 2})
    app = create_app(limited, database=db)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.29", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/verify")).status_code == 200
        assert (await client.get("/api/v1/public/verify?url=https://x.com/a")).status_code == 200
        for lang, title in [("en", "You have made too many checks"),
                            ("cy", "Rydych wedi gwneud gormod o wiriadau")]:  # fmt: skip
            r = await client.get("/verify", params={"url": "https://x.com/a", "lang": lang})
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
            page = _Page(r.text)
            assert page.lang == lang and page.headings[0] == ("h1", title)
            assert f"{r.headers['retry-after']} " in page.body
        assert (await client.get("/directory/staffs")).status_code == 429


async def test_a_force_directory_lists_its_public_accounts_only(client, directory):
    page = await _page(client, "/directory/staffs")
    assert page.headings[0] == ("h1", "Official social media accounts of Staffordshire Police")
    assert "https://x.com/staffspolice" in page.links
    assert "https://x.com/staffspoldogs" in page.links
    for hidden in ("staffspolicehq", "staffspolicenew", "wmpolice"):
        assert hidden not in page.body
    cy = await _page(client, "/directory/staffs", params={"lang": "cy"})
    assert cy.headings[0][1].startswith("Cyfrifon cyfryngau cymdeithasol swyddogol")
    missing = await _page(client, "/directory/nowhere", 404)
    assert "There is no police force with the code nowhere." in missing.body
    bad = await _page(client, "/directory/staffs", 400, params={"cursor": "not-ours"})
    assert bad.headings[0] == ("h1", "Sorry, this link does not work")


async def test_a_force_directory_pages_on(client, directory, monkeypatch):
    from app.web import router

    monkeypatch.setattr(router, "DIRECTORY_PAGE", 1)
    first = await _page(client, "/directory/staffs")
    next_url = [link for link in first.links if "cursor=" in link and "lang=en" in link]
    assert len(next_url) == 1
    assert "https://x.com/staffspoldogs" in first.links  # (platform, handle) order
    second = await _page(client, next_url[0])
    assert "https://x.com/staffspolice" in second.links
    assert "https://x.com/staffspoldogs" not in second.links
    assert "Next page of accounts" not in second.body


async def test_the_assets_are_served_by_the_app_and_the_pages_are_not_in_the_api_document(
    client, app
):
    css = await client.get("/static/site/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await client.get("/static/site/site.js")).status_code == 200
    html = (await client.get("/verify")).text
    assert not re.search(r"""(src|href)=["']https?://""", html.split("<main")[0])
    paths = app.openapi()["paths"]
    assert "/verify" not in paths and "/directory/{force}" not in paths
