"""Account handles and profile URLs: parsing, normalising, canonical URLs and refusals."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.handles import (
    PLATFORMS,
    HandleError,
    ParsedAccount,
    canonical_url,
    normalise_handle,
    parse_url,
    resolve,
)

CHANNEL = "UCaBcDeFgHiJkLmNoPqRsT_-"  # UC + 22 characters, mixed case
DID = "did:plc:abcdefghijklmnopqrstuvwx"

# The autouse isolation fixture in tests/conftest.py is function-scoped; these tests use none.
property_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def refused(field: str, call, *args, **kwargs) -> HandleError:  # type: ignore[no-untyped-def]
    with pytest.raises(HandleError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, caught.value.message
    assert caught.value.message and str(caught.value) == caught.value.message
    return caught.value


# --- parse_url: every accepted URL form ----------------------------------------------------

URL_FORMS = [
    # x
    ("https://x.com/StaffsPolDogs?s=20", "x", "staffspoldogs"),
    ("https://twitter.com/Foo", "x", "foo"),
    ("twitter.com/Foo", "x", "foo"),
    ("http://twitter.com/foo", "x", "foo"),
    ("https://www.twitter.com/foo/", "x", "foo"),
    ("www.x.com/foo", "x", "foo"),
    ("mobile.twitter.com/Foo/", "x", "foo"),
    ("https://mobile.x.com/foo", "x", "foo"),
    ("twitter.com/foo/status/1", "x", "foo"),
    ("https://x.com/foo/status/1234567890?s=20&t=abc", "x", "foo"),
    ("https://x.com/foo#top", "x", "foo"),
    ("HTTPS://X.COM/Foo_Bar", "x", "foo_bar"),
    ("https://x.com/@foo", "x", "foo"),
    ("//x.com/foo", "x", "foo"),
    ("https://x.com./foo", "x", "foo"),
    ("  https://x.com/foo  ", "x", "foo"),
    # facebook
    ("https://www.facebook.com/StaffordshirePolice/", "facebook", "staffordshirepolice"),
    ("https://m.facebook.com/staffordshire.police", "facebook", "staffordshire.police"),
    ("fb.com/staffspolice", "facebook", "staffspolice"),
    ("https://web.facebook.com/staffspolice/posts/123", "facebook", "staffspolice"),
    ("https://www.facebook.com/profile.php?id=100064", "facebook", "100064"),
    ("https://www.facebook.com/profile.php?id=100064&sk=about", "facebook", "100064"),
    ("https://www.facebook.com/pages/Some-Name/123456", "facebook", "123456"),
    ("https://www.facebook.com/people/Some-Name/100064/", "facebook", "100064"),
    ("https://www.facebook.com/pg/staffspolice/about/", "facebook", "staffspolice"),
    # instagram
    ("https://www.instagram.com/met.police/", "instagram", "met.police"),
    ("instagram.com/Met_Police", "instagram", "met_police"),
    ("https://instagr.am/metpolice", "instagram", "metpolice"),
    ("https://www.instagram.com/metpolice/?hl=en", "instagram", "metpolice"),
    # youtube
    ("https://www.youtube.com/@MetPolice", "youtube", "metpolice"),
    ("https://m.youtube.com/@metpolice/videos", "youtube", "metpolice"),
    ("https://www.youtube.com/c/WestMidlandsPolice", "youtube", "westmidlandspolice"),
    ("https://www.youtube.com/user/MetPoliceUK/videos", "youtube", "metpoliceuk"),
    ("youtube.com/WestMidlandsPolice", "youtube", "westmidlandspolice"),
    (f"https://www.youtube.com/channel/{CHANNEL}", "youtube", f"channel/{CHANNEL}"),
    (f"https://m.youtube.com/channel/{CHANNEL}/featured", "youtube", f"channel/{CHANNEL}"),
    # tiktok
    ("https://www.tiktok.com/@metpolice", "tiktok", "metpolice"),
    ("https://www.tiktok.com/@Met.Police/video/123", "tiktok", "met.police"),
    ("tiktok.com/@staffs_police?lang=en", "tiktok", "staffs_police"),
    # threads
    ("https://www.threads.net/@metpolice", "threads", "metpolice"),
    ("https://threads.com/@Met.Police/post/abc", "threads", "met.police"),
    # linkedin
    (
        "https://www.linkedin.com/company/metropolitan-police/",
        "linkedin",
        "company/metropolitan-police",
    ),
    ("https://uk.linkedin.com/in/Jane-Doe-123", "linkedin", "in/jane-doe-123"),
    ("linkedin.com/company/met-police/posts/?feedView=all", "linkedin", "company/met-police"),
    # bluesky
    ("https://bsky.app/profile/metpolice.bsky.social", "bluesky", "metpolice.bsky.social"),
    ("https://bsky.app/profile/Police.Example.UK/post/3k", "bluesky", "police.example.uk"),
    (f"https://bsky.app/profile/{DID}", "bluesky", DID),
    # mastodon
    ("https://mastodon.social/@MetPolice", "mastodon", "metpolice@mastodon.social"),
    ("https://police.social/@staffs/1234567", "mastodon", "staffs@police.social"),
    ("https://mastodon.social/@user@police.example", "mastodon", "user@police.example"),
    # nextdoor
    (
        "https://nextdoor.com/agency-detail/uk/met-police/",
        "nextdoor",
        "agency-detail/uk/met-police",
    ),
    (
        "https://nextdoor.co.uk/agency-detail/England/Staffs_Police/?x=1",
        "nextdoor",
        "agency-detail/england/staffs_police",
    ),
    ("www.nextdoor.co.uk/agency-detail/1", "nextdoor", "agency-detail/1"),
    # snapchat
    ("https://www.snapchat.com/add/MetPolice", "snapchat", "metpolice"),
    ("snapchat.com/add/staffs.police", "snapchat", "staffs.police"),
    # flickr
    ("https://www.flickr.com/people/metpolice/", "flickr", "metpolice"),
    ("https://www.flickr.com/photos/12345678@N02/albums", "flickr", "12345678@n02"),
    # other
    ("https://www.Example.police.uk/Contact/", "other", "example.police.uk/contact"),
    ("example.org", "other", "example.org"),
    ("https://example.org/a?b=c#d", "other", "example.org/a"),
    ("https://medium.com/@Met.Police", "other", "medium.com/@met.police"),
]


@pytest.mark.parametrize(("url", "platform", "handle"), URL_FORMS)
def test_parse_url_forms(url: str, platform: str, handle: str) -> None:
    parsed = parse_url(url)
    assert (parsed.platform, parsed.handle) == (platform, handle)
    assert parsed.url == canonical_url(platform, handle)
    assert parse_url(parsed.url) == parsed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.com/StaffsPolDogs?s=20", "https://x.com/staffspoldogs"),
        ("https://mastodon.social/@MetPolice/1", "https://mastodon.social/@metpolice"),
        ("https://www.Example.org/A/", "https://example.org/a"),
        ("https://www.youtube.com/c/WestMids", "https://www.youtube.com/@westmids"),
    ],
)
def test_parse_url_gives_canonical_url(url: str, expected: str) -> None:
    assert parse_url(url).url == expected


# --- parse_url: every refusal is on 'url' ---------------------------------------------------

REFUSED_URLS = [
    "",
    "   ",
    "https://x.com/foo bar",
    "https://x.com/foo\x00",
    "https://x.com/foo\u200b",
    "https://x.com/" + "a" * 2048,
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hello",
    "ftp://x.com/foo",
    "mailto:a@example.com",
    "https:x.com/foo",
    "https://user:pass@x.com/foo",
    "https://x.com@evil.example/foo",
    "https://x.com:8080/foo",
    "x.com:443/foo",
    "https://x.com\\@evil.example/foo",
    "https://localhost/foo",
    "https://127.0.0.1/foo",
    "https://[::1]/foo",
    "https://[::1/foo",
    "https:///foo",
    "https://-bad.example/foo",
    "https://exa_mple.com/foo",
    "@foo",
    "@user@mastodon.social",
    # x
    "https://x.com",
    "https://x.com/",
    "https://x.com/home",
    "https://x.com/i/status/1",
    "https://twitter.com/search?q=police",
    "https://twitter.com/intent/follow?screen_name=foo",
    "https://x.com/hashtag/police",
    "https://x.com/waytoolonghandle123",
    "https://x.com/foo-bar",
    "https://t.co/abc123",
    "https://help.x.com/en/rules",
    # facebook
    "https://facebook.com/groups/123456",
    "https://www.facebook.com/groups/staffs.neighbourhood/",
    "https://www.facebook.com/profile.php",
    "https://www.facebook.com/profile.php?id=abc",
    "https://www.facebook.com/pages/Some-Name",
    "https://www.facebook.com/pages/Some-Name/abc",
    "https://www.facebook.com/123.456",
    "https://www.facebook.com/abc",
    "https://www.facebook.com/events/123",
    "https://business.facebook.com/staffspolice",
    # instagram
    "https://www.instagram.com/p/ABC123/",
    "https://www.instagram.com/reel/ABC123/",
    "https://instagram.com/.foo",
    "https://instagram.com/foo..bar",
    "https://instagram.com/" + "a" * 31,
    # youtube
    "https://youtu.be/dQw4w9WgXcQ",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com/shorts/abc",
    "https://www.youtube.com/playlist?list=PL123",
    "https://www.youtube.com/channel/notanid",
    "https://www.youtube.com/channel/",
    "https://www.youtube.com/c/",
    "https://youtube.com/@ab",
    f"https://studio.youtube.com/channel/{CHANNEL}",
    # tiktok
    "https://www.tiktok.com/metpolice",
    "https://www.tiktok.com/@foo.",
    "https://www.tiktok.com/@a",
    "https://vm.tiktok.com/ZMabc/",
    # threads
    "https://www.threads.net/metpolice",
    "https://www.threads.net/@foo..bar",
    # linkedin
    "https://www.linkedin.com/feed/",
    "https://www.linkedin.com/company/ab",
    "https://www.linkedin.com/school/some-school/",
    "https://www.linkedin.com/company/",
    # bluesky
    "https://bsky.app/",
    "https://bsky.app/profile/",
    "https://bsky.app/profile/nodot",
    "https://bsky.app/profile/-bad.bsky.social",
    "https://bsky.app/search?q=x",
    # nextdoor
    "https://nextdoor.co.uk/",
    "https://nextdoor.com/agency.detail/foo",
    # snapchat
    "https://www.snapchat.com/add/1abc",
    "https://www.snapchat.com/add/ab",
    "https://www.snapchat.com/discover/x",
    # flickr
    "https://www.flickr.com/groups/x",
    "https://www.flickr.com/people/",
    "https://flic.kr/p/abc",
    # other: host + path over 200 characters
    "https://example.org/" + "a" * 250,
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_parse_url_refusals(url: str) -> None:
    refused("url", parse_url, url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://facebook.com/groups/123", "group"),
        ("https://youtu.be/abc", "video"),
        ("javascript:alert(1)", "http"),
        ("https://user@x.com/foo", "password"),
        ("https://x.com:8080/foo", "port"),
        ("https://www.youtube.com/watch?v=1", "video"),
        ("https://www.tiktok.com/metpolice", "tiktok.com/@name"),
    ],
)
def test_refusal_messages_say_why(url: str, words: str) -> None:
    assert words in refused("url", parse_url, url).message


def test_non_text_is_refused() -> None:
    refused("url", parse_url, None)
    refused("handle", normalise_handle, "x", 123)
    refused("platform", normalise_handle, None, "foo")


# --- normalise_handle -----------------------------------------------------------------------

HANDLES = [
    ("x", "@StaffsPolDogs", "staffspoldogs"),
    ("x", "  Foo_1 ", "foo_1"),
    ("X", "foo", "foo"),
    ("x", "@@foo", "foo"),
    ("flickr", "@@foo", "foo"),
    (" twitter ", "foo", "foo"),
    ("facebook", "Staffs.Police", "staffs.police"),
    ("facebook", "100064", "100064"),
    ("instagram", "@Met.Police", "met.police"),
    ("youtube", "@MetPolice", "metpolice"),
    ("youtube", f"channel/{CHANNEL}", f"channel/{CHANNEL}"),
    ("youtube", f"Channel/{CHANNEL}", f"channel/{CHANNEL}"),
    ("youtube", CHANNEL, f"channel/{CHANNEL}"),
    ("youtube", "uc" + "a" * 22, "uc" + "a" * 22),
    ("tiktok", "@Met.Police", "met.police"),
    ("threads", "met_police", "met_police"),
    ("linkedin", "Metropolitan-Police", "company/metropolitan-police"),
    ("linkedin", "in/Jane-Doe", "in/jane-doe"),
    ("linkedin", "/company/met-police/", "company/met-police"),
    ("bluesky", "@MetPolice.bsky.social", "metpolice.bsky.social"),
    ("bluesky", DID.upper(), DID),
    ("bluesky", "did:web:police.example", "did:web:police.example"),
    ("mastodon", "@MetPolice@Mastodon.Social", "metpolice@mastodon.social"),
    ("mastodon", "user@police.example", "user@police.example"),
    ("nextdoor", "/Agency-Detail/uk/met/", "agency-detail/uk/met"),
    ("snapchat", "MetPolice", "metpolice"),
    ("flickr", "12345678@N02", "12345678@n02"),
    ("other", "@Some-Thing/Here", "some-thing/here"),
    ("other", "Example.org/Page?x=1", "example.org/page"),
]


@pytest.mark.parametrize(("platform", "handle", "expected"), HANDLES)
def test_normalise_handle(platform: str, handle: str, expected: str) -> None:
    assert normalise_handle(platform, handle) == expected
    assert normalise_handle(platform, expected) == expected


REFUSED_HANDLES = [
    ("x", ""),
    ("x", "   "),
    ("x", "@"),
    ("x", "foo bar"),
    ("x", "foo\x00"),
    ("x", "foo\x1b"),
    ("x", "a" * 201),
    ("x", "a" * 16),
    ("x", "home"),
    ("x", "i"),
    ("x", "foo-bar"),
    ("facebook", "abcd"),
    ("facebook", "123.456"),
    ("facebook", "groups"),
    ("facebook", "profile.php"),
    ("facebook", "a" * 51),
    ("instagram", ".foo"),
    ("instagram", "foo."),
    ("instagram", "foo..bar"),
    ("instagram", "a" * 31),
    ("instagram", "p"),
    ("youtube", "ab"),
    ("youtube", "a" * 31),
    ("youtube", "channel/UCshort"),
    ("youtube", "channel/" + "uc" + "a" * 22),
    ("youtube", "watch"),
    ("tiktok", "a"),
    ("tiktok", "foo."),
    ("tiktok", "a" * 25),
    ("threads", "foo..bar"),
    ("linkedin", "ab"),
    ("linkedin", "school/foo-bar"),
    ("linkedin", "company/foo_bar"),
    ("linkedin", "company/" + "a" * 101),
    ("bluesky", "nodot"),
    ("bluesky", "-a.bsky.social"),
    ("bluesky", "a-.bsky.social"),
    ("bluesky", "a" * 64 + ".com"),
    ("bluesky", "police.123"),
    ("bluesky", "a..b"),
    ("bluesky", "did:plc:short"),
    ("mastodon", "user"),
    ("mastodon", "user@nodot"),
    ("mastodon", "us.er@mastodon.social"),
    ("mastodon", "a" * 31 + "@mastodon.social"),
    ("mastodon", "user@x.com"),
    ("mastodon", "user@www.facebook.com"),
    ("mastodon", "user@t.co"),
    ("nextdoor", "foo//bar"),
    ("nextdoor", "foo.bar"),
    ("nextdoor", "/"),
    ("snapchat", "1abc"),
    ("snapchat", "ab"),
    ("snapchat", "a" * 16),
    ("flickr", "foo/bar"),
    ("flickr", "a" * 101),
    ("other", "foo\tbar"),
    ("other", "\u200b"),
    ("other", "a" * 201),
]


@pytest.mark.parametrize(("platform", "handle"), REFUSED_HANDLES)
def test_normalise_handle_refusals(platform: str, handle: str) -> None:
    refused("handle", normalise_handle, platform, handle)
    refused("handle", canonical_url, platform, handle)


@pytest.mark.parametrize("platform", ["", "  ", "myspace", "x\x00", "xx" * 30])
def test_unknown_platform_is_refused(platform: str) -> None:
    refused("platform", normalise_handle, platform, "foo")
    refused("platform", canonical_url, platform, "foo")


def test_reserved_message_says_what_it_is() -> None:
    assert "group" in refused("handle", normalise_handle, "facebook", "groups").message


# --- canonical_url and round trips ----------------------------------------------------------

CANONICAL = [
    ("x", "staffspoldogs", "https://x.com/staffspoldogs"),
    ("facebook", "staffs.police", "https://www.facebook.com/staffs.police"),
    ("facebook", "100064", "https://www.facebook.com/profile.php?id=100064"),
    ("instagram", "met.police", "https://www.instagram.com/met.police/"),
    ("youtube", "metpolice", "https://www.youtube.com/@metpolice"),
    ("youtube", f"channel/{CHANNEL}", f"https://www.youtube.com/channel/{CHANNEL}"),
    ("tiktok", "met.police", "https://www.tiktok.com/@met.police"),
    ("threads", "met_police", "https://www.threads.net/@met_police"),
    ("linkedin", "company/met-police", "https://www.linkedin.com/company/met-police/"),
    ("linkedin", "in/jane-doe", "https://www.linkedin.com/in/jane-doe/"),
    ("bluesky", "metpolice.bsky.social", "https://bsky.app/profile/metpolice.bsky.social"),
    ("bluesky", DID, f"https://bsky.app/profile/{DID}"),
    ("mastodon", "metpolice@mastodon.social", "https://mastodon.social/@metpolice"),
    ("nextdoor", "agency-detail/uk/met", "https://nextdoor.co.uk/agency-detail/uk/met/"),
    ("snapchat", "metpolice", "https://www.snapchat.com/add/metpolice"),
    ("flickr", "12345678@n02", "https://www.flickr.com/people/12345678@n02/"),
    ("other", "example.police.uk/contact", "https://example.police.uk/contact"),
]


@pytest.mark.parametrize(("platform", "handle", "url"), CANONICAL)
def test_canonical_url(platform: str, handle: str, url: str) -> None:
    assert canonical_url(platform, handle) == url
    assert url.startswith("https://")


@pytest.mark.parametrize(("platform", "handle", "url"), CANONICAL)
def test_round_trip(platform: str, handle: str, url: str) -> None:
    parsed = parse_url(canonical_url(platform, handle))
    assert (parsed.platform, parsed.handle) == (platform, handle)
    assert parsed.url == url


def test_every_platform_has_a_round_trip_case() -> None:
    assert {platform for platform, _, _ in CANONICAL} == set(PLATFORMS)


def test_canonical_url_normalises_the_handle() -> None:
    assert canonical_url("x", "@StaffsPolDogs") == "https://x.com/staffspoldogs"
    assert canonical_url("linkedin", "met-police") == "https://www.linkedin.com/company/met-police/"


@pytest.mark.parametrize("handle", ["not-a-link", "javascript:alert(1)", "foo@bar", "a/b"])
def test_other_handle_that_is_not_a_link_has_no_url(handle: str) -> None:
    assert canonical_url("other", handle) == ""


# --- resolve --------------------------------------------------------------------------------


def test_resolve_url_alone() -> None:
    assert resolve(url="twitter.com/Foo", platform=None, handle=None) == ParsedAccount(
        "x", "foo", "https://x.com/foo"
    )


def test_resolve_platform_and_handle() -> None:
    assert resolve(url=None, platform="instagram", handle="@Met.Police") == ParsedAccount(
        "instagram", "met.police", "https://www.instagram.com/met.police/"
    )


def test_resolve_other_without_a_link() -> None:
    assert resolve(url=None, platform="other", handle="Radio-Call-Sign") == ParsedAccount(
        "other", "radio-call-sign", ""
    )


@pytest.mark.parametrize(
    ("platform", "handle"),
    [("x", "@Foo"), ("X", None), (None, "foo"), ("twitter", "FOO"), ("", "")],
)
def test_resolve_url_with_agreeing_platform_and_handle(
    platform: str | None, handle: str | None
) -> None:
    parsed = resolve(url="https://x.com/foo?s=20", platform=platform, handle=handle)
    assert parsed == ParsedAccount("x", "foo", "https://x.com/foo")


@pytest.mark.parametrize(
    ("platform", "handle"),
    [("x", "bar"), ("instagram", "foo"), ("instagram", None), (None, "bar"), ("x", "foo-bar")],
)
def test_resolve_url_disagreeing_with_platform_or_handle(
    platform: str | None, handle: str | None
) -> None:
    refused("handle", resolve, url="https://x.com/foo", platform=platform, handle=handle)


@pytest.mark.parametrize(
    ("url", "platform", "handle", "field"),
    [
        (None, None, None, "url"),
        ("", "", "", "url"),
        ("  ", None, " ", "url"),
        (None, "x", None, "handle"),
        (None, None, "foo", "platform"),
        (None, "myspace", "foo", "platform"),
        ("https://x.com/foo", "myspace", None, "platform"),
        (None, "x", "home", "handle"),
        ("javascript:alert(1)", None, None, "url"),
        ("https://facebook.com/groups/1", "facebook", "groups", "url"),
    ],
)
def test_resolve_refusals(
    url: str | None, platform: str | None, handle: str | None, field: str
) -> None:
    refused(field, resolve, url=url, platform=platform, handle=handle)


def test_resolve_neither_message() -> None:
    error = refused("url", resolve, url=None, platform=None, handle=None)
    assert error.message == "give url, or platform and handle"


# --- the public types -----------------------------------------------------------------------


def test_public_types() -> None:
    assert issubclass(HandleError, ValueError)
    error = HandleError("handle", "Too long.")
    assert (error.field, error.message, str(error)) == ("handle", "Too long.", "Too long.")
    assert PLATFORMS[0] == "x" and PLATFORMS[-1] == "other" and len(PLATFORMS) == 13
    parsed = parse_url("x.com/foo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.handle = "bar"  # type: ignore[misc]


# --- properties -----------------------------------------------------------------------------

platforms = st.sampled_from(PLATFORMS) | st.text(max_size=12)
url_like = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            [
                "https://", "http://", "//", "javascript:", "www.", "m.", "x.com", "twitter.com",
                "facebook.com", "youtube.com", "tiktok.com", "bsky.app", "linkedin.com",
                "nextdoor.co.uk", "mastodon.social", "example.org", "/", "@", "?", "#", ":",
                "=", ".", "..", "%", "\\", "[", "]", "id", "profile.php", "channel", "UC",
                "company", "in", "profile", "add", "people", "Foo", "a_b", "9", " ", "\x00",
            ]
        ),
        max_size=12,
    ),
)  # fmt: skip
anything = st.text() | url_like


@property_settings
@given(anything)
def test_parse_url_only_raises_handle_error(text: str) -> None:
    try:
        parsed = parse_url(text)
    except HandleError as error:
        assert error.field == "url"
        return
    assert parsed.platform in PLATFORMS
    assert parsed.url.startswith("https://")
    assert parse_url(parsed.url) == parsed


@property_settings
@given(platforms, anything)
def test_normalise_only_raises_handle_error(platform: str, text: str) -> None:
    try:
        handle = normalise_handle(platform, text)
    except HandleError as error:
        assert error.field in ("handle", "platform")
        return
    assert normalise_handle(platform, handle) == handle
    account = resolve(url=None, platform=platform, handle=text)
    assert account.handle == handle
    assert account.url == canonical_url(platform, handle)
    if account.url:
        parsed = parse_url(account.url)
        if account.platform != "other":
            assert parsed == account


@property_settings
@given(st.sampled_from(PLATFORMS[:-1]), st.text(alphabet="abcXYZ0129._-@/:", max_size=40))
def test_round_trip_property(platform: str, text: str) -> None:
    try:
        handle = normalise_handle(platform, text)
    except HandleError:
        return
    parsed = parse_url(canonical_url(platform, handle))
    assert (parsed.platform, parsed.handle) == (platform, handle)


optional = st.none() | anything


@property_settings
@given(optional, st.none() | platforms, optional)
def test_resolve_only_raises_handle_error(
    url: str | None, platform: str | None, handle: str | None
) -> None:
    try:
        parsed = resolve(url=url, platform=platform, handle=handle)
    except HandleError as error:
        assert error.field in ("url", "handle", "platform")
        return
    assert parsed.platform in PLATFORMS
