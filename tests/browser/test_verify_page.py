"""The public's pages walked with the keyboard only, in English and Welsh, with JavaScript
on and off: every answer of /verify (official, a look-alike, not official, not a social
media address, rate limited) and a force's directory. On every state axe-core finds no
WCAG 2.2 A or AA violation, focus is visible and moves in reading order; each state's
screenshot is written to tests/browser/screenshots/."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import SHOTS

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
TEXT = {
    "en": {
        "skip": "Skip to main content",
        "title": "Check if a police social media account is official",
        "official": "This is an official police account",
        "not_official": "This is not an official police account",
        "resembles": "Official accounts it looks like",
        "report": "How to report an account pretending to be the police",
        "problem": "There is a problem",
        "limited": "You have made too many checks",
        "directory": "Official social media accounts of Staffordshire Police",
        "other_language": "Cymraeg",
    },
    "cy": {
        "skip": "Neidio i'r prif gynnwys",
        "title": "Gwirio a yw cyfrif cyfryngau cymdeithasol yr heddlu yn swyddogol",
        "official": "Mae hwn yn gyfrif swyddogol yr heddlu",
        "not_official": "Nid yw hwn yn gyfrif swyddogol yr heddlu",
        "resembles": "Cyfrifon swyddogol y mae'n edrych yn debyg iddynt",
        "report": "Sut i roi gwybod am gyfrif sy'n esgus bod yn heddlu",
        "problem": "Mae problem wedi codi",
        "limited": "Rydych wedi gwneud gormod o wiriadau",
        "directory": "Cyfrifon cyfryngau cymdeithasol swyddogol Staffordshire Police",
        "other_language": "English",
    },
}
_FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || '').trim(),
          href: e.getAttribute('href') || '',
          visible: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                   || s.boxShadow !== 'none'};
}"""


class Walk:
    """One visitor: a language, JavaScript on or off, only the keyboard."""

    def __init__(self, browser: Any, site: dict[str, str], lang: str, js: bool) -> None:
        self.browser, self.site, self.lang, self.js = browser, site, lang, js
        # Welsh comes from the browser's own language (Accept-Language), not from ?lang=.
        self.locale = "cy-GB" if lang == "cy" else "en-GB"
        self.context: Any = None
        self.page: Any = None
        self.text = TEXT[lang]
        self.states: list[str] = []

    async def focused(self) -> dict[str, Any]:
        return dict(await self.page.evaluate(_FOCUSED))

    async def tab(self, key: str = "Tab") -> dict[str, Any]:
        await self.page.keyboard.press(key)
        now = await self.focused()
        assert now["visible"], f"no visible focus on {now}"
        return now

    async def tab_to(self, element_id: str) -> None:
        """Tab forward until the element has focus, each stop visibly focused."""
        for _ in range(40):
            if (await self.tab())["id"] == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    async def h1(self) -> str:
        return (await self.page.locator("h1").inner_text()).strip()

    async def submit(self, url: str) -> int:
        """Type the link into the field and press Enter: the answer's status."""
        await self.tab_to("url")
        await self.page.keyboard.type(url)
        async with self.page.expect_navigation() as nav:
            await self.page.keyboard.press("Enter")
        response = await nav.value
        assert response is not None
        return int(response.status)

    async def into_main(self) -> None:
        """From the top of a page: the skip link first, and it takes focus to <main>."""
        first = await self.tab()
        assert first["href"] == "#main-content" and first["text"] == self.text["skip"]
        await self.page.keyboard.press("Enter")
        assert (await self.focused())["id"] == "main-content"

    async def check(self, state: str) -> None:
        """The state's page: its language, no axe violation, a screenshot."""
        assert await self.page.locator("html").get_attribute("lang") == self.lang
        for landmark in ("header", "main", "footer", "nav"):
            assert await self.page.locator(landmark).count() == 1, landmark
        name = f"{self.lang}-js-{'on' if self.js else 'off'}-{state}"
        await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        violations = await self._axe()
        assert not violations, (name, violations)
        self.states.append(state)

    async def _axe(self) -> list[dict[str, Any]]:
        from axe_playwright_python.async_playwright import Axe

        options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
        if self.js:
            found = await Axe().run(self.page, options=options)
        else:
            # axe-core needs scripts; with them off, check the very same page in a context
            # where only the page's own script is blocked (the DOM it would have without).
            context = await self.browser.new_context(locale=self.locale)
            await context.route("**/static/site/site.js", lambda route: route.abort())
            page = await context.new_page()
            await page.goto(self.page.url)
            found = await Axe().run(page, options=options)
            await context.close()
        return [
            {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in found.response["violations"]
        ]


@pytest.fixture(params=[("en", True), ("en", False), ("cy", True), ("cy", False)],
                ids=["en-js", "en-nojs", "cy-js", "cy-nojs"])  # fmt: skip
async def walk(request, browser, site):  # type: ignore[no-untyped-def]
    lang, js = request.param
    w = Walk(browser, site, lang, js)
    w.context = await browser.new_context(java_script_enabled=js, locale=w.locale)
    w.page = await w.context.new_page()
    yield w
    await w.context.close()


async def test_every_answer_by_keyboard_alone(walk: Walk) -> None:
    t, page, base = walk.text, walk.page, walk.site["base"]

    # The form: skip link, then the field (label and hint read with it).
    await page.goto(f"{base}/verify")
    assert await walk.h1() == t["title"]
    await walk.check("form")
    await walk.into_main()
    assert await page.locator("#url").get_attribute("aria-describedby") == "url-hint"

    # Official: force, platform, handle, display name, link.
    assert await walk.submit("https://x.com/StaffsPolDogs") == 200
    assert await walk.h1() == t["official"]
    if walk.js:  # the script takes focus to the answer
        assert (await walk.focused())["id"] == "result"
    body = await page.locator("main").inner_text()
    for shown in ("Staffordshire Police", "@staffspoldogs", "Staffs Police Dogs",
                  "https://x.com/staffspoldogs"):  # fmt: skip
        assert shown in body
    await walk.check("official")

    # A look-alike (zero for o, a separator): not official, what it imitates, how to report.
    assert await walk.submit("https://x.com/staffs_p0lice") == 200
    assert await walk.h1() == t["not_official"]
    headings = await page.locator("h2").all_inner_texts()
    assert t["resembles"] in headings and t["report"] in headings
    assert await page.locator("ul.resembles a[href='https://x.com/staffspolice']").count() == 1
    assert "staffspolicehq" not in await page.content()  # never an unofficial account
    await walk.check("lookalike")

    # Not official and like no official account.
    assert await walk.submit("https://x.com/gardeningclub") == 200
    assert await walk.h1() == t["not_official"]
    assert t["resembles"] not in await page.locator("h2").all_inner_texts()
    await walk.check("not-official")

    # Not a social media address: the error summary, its link takes focus to the field.
    assert await walk.submit("hello there") == 400
    assert await page.locator(".error-summary h2").inner_text() == t["problem"]
    assert (await page.title()).startswith("Error:" if walk.lang == "en" else "Gwall:")
    if walk.js:  # the script takes focus to the summary
        assert "error-summary" in (await page.locator(":focus").get_attribute("class") or "")
    else:
        await walk.into_main()
    link = await walk.tab()
    assert link["href"] == "#url"
    await page.keyboard.press("Enter")
    assert (await walk.focused())["id"] == "url"
    assert await page.locator("#url").get_attribute("aria-invalid") == "true"
    await walk.check("error")

    # The language link, reached by keyboard, swaps language and keeps the question.
    await page.goto(f"{base}/verify?" + urlencode({"url": "https://x.com/staffspolice"}))
    key = "Shift+Tab" if walk.js else "Tab"  # back from the answer, or on from the top
    for _ in range(5):
        if (await walk.tab(key))["text"].endswith(t["other_language"]):
            break
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    other = "en" if walk.lang == "cy" else "cy"
    assert await page.locator("html").get_attribute("lang") == other
    assert await walk.h1() == TEXT[other]["official"]

    # A force's directory.
    await page.goto(f"{base}/directory/staffs")
    assert await walk.h1() == t["directory"]
    await walk.into_main()
    first_link = await walk.tab()
    assert first_link["href"].startswith("https://")  # the table's first account
    rows = await page.locator("tbody tr").all_inner_texts()
    assert len(rows) == 3 and not any("staffspolicehq" in r for r in rows)
    await walk.check("directory")

    # Rate limited: the 429 page, in the visitor's language.
    limited = walk.site["limited"]
    statuses = []
    for _ in range(4):
        response = await page.goto(f"{limited}/verify?" + urlencode({"url": "https://x.com/a"}))
        assert response is not None
        statuses.append(response.status)
        if response.status == 429:
            break
    assert statuses[-1] == 429, statuses
    assert await walk.h1() == t["limited"]
    await walk.check("rate-limited")

    assert walk.states == ["form", "official", "lookalike", "not-official", "error",
                           "directory", "rate-limited"]  # fmt: skip
