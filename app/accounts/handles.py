"""Parse, validate and normalise social media account handles and profile URLs.

Pure functions, no I/O. Every refusal is a ``HandleError`` naming the field at fault ('url',
'handle' or 'platform') with a sentence fit to show a user. Handles are trimmed, lower-cased and
lose leading ``@``s, then checked against the platform's rules in ``_RULES``. Decisions:

* YouTube channel ids are case-sensitive: they keep their case and are stored as
  ``channel/UC...``; a bare ``UC`` + 22 character handle is taken to be a channel id. Legacy
  ``/c/Name``, ``/user/Name`` and ``youtube.com/Name`` links give the lower-cased name as the
  handle, and its canonical URL is the ``/@name`` form.
* Facebook numeric ids (``profile.php?id=``, ``/pages/Name/<id>``, ``/people/Name/<id>``) are
  the handle, with the ``profile.php?id=`` form as canonical URL. Groups are refused.
* LinkedIn handles are ``company/<slug>`` or ``in/<slug>``; a bare slug means a company.
* Mastodon handles are ``user@instance``. A link on a host that is no known platform's whose
  first path segment is ``@user`` (or ``@user@remote``) is Mastodon; later segments (a post id)
  are ignored. Anything else on an unknown host is ``other``.
* Only ``www``, ``m``, ``mobile`` and ``web`` sub-domains of a platform's hosts are accepted
  (LinkedIn also two-letter country ones); other sub-domains of its hosts are refused.
* Every handle is at most 200 characters, which also caps Bluesky domain handles.
* The platform name is case-insensitive and ``twitter`` means ``x``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

PLATFORMS: tuple[str, ...] = (
    "x", "facebook", "instagram", "youtube", "tiktok", "threads", "linkedin",
    "nextdoor", "bluesky", "mastodon", "snapchat", "flickr", "other",
)  # fmt: skip

MAX_URL = 2048
MAX_HANDLE = 200


class HandleError(ValueError):
    """A refused URL, handle or platform. field: 'url' | 'handle' | 'platform'."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"HandleError({self.field!r}, {self.message!r})"


@dataclass(frozen=True)
class ParsedAccount:
    platform: str
    handle: str  # normalised
    url: str  # canonical https URL for the account ("" when there is none)


# A DNS name with at least one dot; labels 1-63 [a-z0-9-] without edge hyphens; the last
# label has a letter (so IP addresses are not domains); at most 253 characters.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = rf"(?=.{{1,253}}$)(?:{_LABEL}\.)+(?=[a-z0-9-]*[a-z]){_LABEL}"
_DOMAIN_RE = re.compile(_DOMAIN)
_UC_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_DIGITS = re.compile(r"[0-9]{1,20}")
# A scheme, unless what follows the colon is a port number (``x.com:443/foo``).
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:(?![0-9]+(?:[/?#]|$))", re.IGNORECASE)
_SUBDOMAINS = re.compile(r"www|m|mobile|web")
_ALIASES = {"twitter": "x"}

# Hosts that only ever carry short links to content, never an account.
_SHORT_LINKS = {
    "youtu.be": "a YouTube video link",
    "t.co": "a shortened X link",
    "vm.tiktok.com": "a shortened TikTok video link",
    "vt.tiktok.com": "a shortened TikTok video link",
    "flic.kr": "a shortened Flickr link",
}

Segments = list[str]
Extractor = Callable[[Segments, str], str | None]


@dataclass(frozen=True)
class _Rule:
    label: str  # the platform's name as people write it
    pattern: re.Pattern[str]  # a normalised handle must fullmatch this
    hint: str  # "it must be ..." completion describing the pattern
    url: Callable[[str], str]  # normalised handle -> canonical URL
    example: str = ""  # an account link, for messages
    hosts: tuple[str, ...] = ()
    extract: Extractor | None = None  # (path segments, query) -> raw handle, or None
    reserved: dict[str, str] = field(default_factory=dict)  # name -> what it is instead
    prep: Callable[[str], str] = str.lower  # raw handle (no '@') -> candidate
    subdomains: re.Pattern[str] = _SUBDOMAINS


def _first(segs: Segments, query: str) -> str | None:
    return segs[0]


def _at(segs: Segments, query: str) -> str | None:  # tiktok.com/@name
    return segs[0] if segs[0].startswith("@") else None


def _under(*heads: str) -> Extractor:
    def extract(segs: Segments, query: str) -> str | None:
        return segs[1] if len(segs) > 1 and segs[0].lower() in heads else None

    return extract


def _linkedin(segs: Segments, query: str) -> str | None:
    kind = segs[0].lower()
    return f"{kind}/{segs[1]}" if len(segs) > 1 and kind in ("company", "in") else None


def _facebook(segs: Segments, query: str) -> str | None:
    head = segs[0].lower()
    if head == "profile.php":
        ids = parse_qs(query).get("id", [""])
        return ids[0] if _DIGITS.fullmatch(ids[0]) else None
    if head in ("pages", "people"):  # /pages/Name/123 -> the numeric id
        return segs[2] if len(segs) > 2 and _DIGITS.fullmatch(segs[2]) else None
    if head == "pg":
        return segs[1] if len(segs) > 1 else None
    return segs[0]


def _youtube(segs: Segments, query: str) -> str | None:
    head = segs[0].lower()
    if head in ("channel", "c", "user"):
        if len(segs) < 2:
            return None
        return f"channel/{segs[1]}" if head == "channel" else segs[1]
    return segs[0]  # /@handle, or a legacy youtube.com/Name vanity link


def _youtube_prep(raw: str) -> str:
    if raw[:8].lower() == "channel/":
        return "channel/" + raw[8:]  # channel ids keep their case
    return "channel/" + raw if _UC_ID.fullmatch(raw) else raw.lower()


def _linkedin_prep(raw: str) -> str:
    text = raw.lower().strip("/")
    return text if "/" in text else f"company/{text}"


def _mastodon_prep(raw: str) -> str:
    text = raw.lower()
    instance = text.partition("@")[2]
    if instance and (_family(instance) or instance in _SHORT_LINKS):
        raise HandleError("handle", f"'{instance}' is not a Mastodon server.")
    return text


def _mastodon_url(h: str) -> str:
    user, _, instance = h.partition("@")
    return f"https://{instance}/@{user}"


def _other_url(h: str) -> str:
    """https://{h} when that is an acceptable link (it looks like host/path), else ""."""
    candidate = f"https://{h}"
    try:
        parse_url(candidate)
    except HandleError:
        return ""
    return candidate


_INSTAGRAM = re.compile(r"(?!\.)(?!.*\.\.)(?!.*\.$)[a-z0-9._]{1,30}")
_INSTAGRAM_HINT = (
    "1-30 letters, digits, dots or underscores, not starting or ending with a dot "
    "and without two dots in a row"
)
_X_RESERVED = (
    "home explore search i intent share settings hashtag messages notifications "
    "login signup tos privacy"
)


def _reserved(what: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), what)


_RULES: dict[str, _Rule] = {
    "x": _Rule(
        "X", re.compile(r"[a-z0-9_]{1,15}"), "1-15 letters, digits or underscores",
        lambda h: f"https://x.com/{h}", "x.com/name",
        hosts=("x.com", "twitter.com"), extract=_first,
        reserved=_reserved("a reserved page", _X_RESERVED),
    ),
    "facebook": _Rule(
        "Facebook", re.compile(r"[0-9]{1,20}|(?=.*[a-z])[a-z0-9.]{5,50}"),
        "5-50 letters, digits or dots (not only digits and dots), or a numeric profile id",
        lambda h: "https://www.facebook.com/" + (f"profile.php?id={h}" if h.isdigit() else h),
        "facebook.com/name or facebook.com/profile.php?id=123",
        hosts=("facebook.com", "fb.com"), extract=_facebook,
        reserved={
            "groups": "a group", "events": "an event", "watch": "a video",
            "marketplace": "the marketplace", "hashtag": "a hashtag",
            **_reserved("a reserved page", "pages people profile.php photo.php story.php "
                        "permalink.php sharer.php share login settings policies privacy"),
        },
    ),
    "instagram": _Rule(
        "Instagram", _INSTAGRAM, _INSTAGRAM_HINT,
        lambda h: f"https://www.instagram.com/{h}/", "instagram.com/name",
        hosts=("instagram.com", "instagr.am"), extract=_first,
        reserved={
            "p": "a post", "reel": "a reel", "reels": "a reel", "tv": "a video",
            "stories": "a story", "explore": "the explore page",
            **_reserved("a reserved page", "accounts direct about legal"),
        },
    ),
    "youtube": _Rule(
        "YouTube", re.compile(r"channel/UC[A-Za-z0-9_-]{22}|[a-z0-9._-]{3,30}"),
        "3-30 letters, digits, dots, hyphens or underscores, or a channel id (UC + 22 characters)",
        lambda h: "https://www.youtube.com/" + (h if h.startswith("channel/") else "@" + h),
        "youtube.com/@name or youtube.com/channel/UC...",
        hosts=("youtube.com",), extract=_youtube, prep=_youtube_prep,
        reserved={
            "watch": "a video", "shorts": "a video", "live": "a video", "embed": "a video",
            "playlist": "a playlist", "results": "search results", "feed": "a feed",
            "hashtag": "a hashtag", **_reserved("a reserved page", "account premium redirect"),
        },
    ),
    "tiktok": _Rule(
        "TikTok", re.compile(r"(?!.*\.$)[a-z0-9._]{2,24}"),
        "2-24 letters, digits, dots or underscores, not ending with a dot",
        lambda h: f"https://www.tiktok.com/@{h}", "tiktok.com/@name",
        hosts=("tiktok.com",), extract=_at,
    ),
    "threads": _Rule(
        "Threads", _INSTAGRAM, _INSTAGRAM_HINT,
        lambda h: f"https://www.threads.net/@{h}", "threads.net/@name",
        hosts=("threads.net", "threads.com"), extract=_at,
    ),
    "linkedin": _Rule(
        "LinkedIn", re.compile(r"(?:company|in)/[a-z0-9-]{3,100}"),
        "company/<name> or in/<name>, the name being 3-100 letters, digits or hyphens",
        lambda h: f"https://www.linkedin.com/{h}/", "linkedin.com/company/name",
        hosts=("linkedin.com",), extract=_linkedin, prep=_linkedin_prep,
        subdomains=re.compile(r"www|m|[a-z]{2}"),
    ),
    "nextdoor": _Rule(
        "Nextdoor", re.compile(r"(?=.{1,200}$)[a-z0-9_-]+(?:/[a-z0-9_-]+)*"),
        "1-200 letters, digits, hyphens, underscores or slashes",
        lambda h: f"https://nextdoor.co.uk/{h}/", "nextdoor.co.uk/agency-detail/...",
        hosts=("nextdoor.com", "nextdoor.co.uk"), extract=lambda segs, query: "/".join(segs),
        prep=lambda raw: raw.lower().strip("/"),
    ),
    "bluesky": _Rule(
        "Bluesky", re.compile(rf"did:plc:[a-z2-7]{{24}}|did:web:{_DOMAIN}|{_DOMAIN}"),
        "a domain name such as name.bsky.social, or a did:plc: identifier",
        lambda h: f"https://bsky.app/profile/{h}", "bsky.app/profile/name.bsky.social",
        hosts=("bsky.app",), extract=_under("profile"),
    ),
    "mastodon": _Rule(
        "Mastodon", re.compile(rf"[a-z0-9_]{{1,30}}@{_DOMAIN}"),
        "user@server, the user being 1-30 letters, digits or underscores",
        _mastodon_url, "server.example/@user", prep=_mastodon_prep,
    ),
    "snapchat": _Rule(
        "Snapchat", re.compile(r"[a-z][a-z0-9._-]{2,14}"),
        "3-15 letters, digits, dots, hyphens or underscores, starting with a letter",
        lambda h: f"https://www.snapchat.com/add/{h}", "snapchat.com/add/name",
        hosts=("snapchat.com",), extract=_under("add"),
    ),
    "flickr": _Rule(
        "Flickr", re.compile(r"[a-z0-9@._-]{1,100}"),
        "1-100 letters, digits, @, dots, hyphens or underscores",
        lambda h: f"https://www.flickr.com/people/{h}/", "flickr.com/people/name",
        hosts=("flickr.com",), extract=_under("people", "photos"),
    ),
    "other": _Rule("other", re.compile(r".+", re.DOTALL), "", _other_url),
}  # fmt: skip

_HOSTS: dict[str, str] = {host: p for p, rule in _RULES.items() for host in rule.hosts}


def _family(host: str) -> str | None:
    """The platform owning host or any domain above it, if any."""
    for base, platform in _HOSTS.items():
        if host == base or host.endswith("." + base):
            return platform
    return None


def _host_platform(host: str) -> str | None:
    """The platform whose account links live on host; None for an unknown host."""
    if host in _SHORT_LINKS:
        raise HandleError(
            "url", f"That is {_SHORT_LINKS[host]}, not an account; give the account's own link."
        )
    if host in _HOSTS:
        return _HOSTS[host]
    label, _, rest = host.partition(".")
    platform = _HOSTS.get(rest)
    if platform and _RULES[platform].subdomains.fullmatch(label):
        return platform
    platform = _family(host)
    if platform:
        raise HandleError(
            "url", f"'{host}' belongs to {_RULES[platform].label} but is not an account link."
        )
    return None


def _clean(field_name: str, value: object, limit: int) -> str:
    noun = "link" if field_name == "url" else field_name
    if not isinstance(value, str):
        raise HandleError(field_name, f"The {noun} must be text.")
    text = value.strip()
    if not text:
        raise HandleError(field_name, f"The {noun} is empty.")
    if len(text) > limit:
        raise HandleError(field_name, f"The {noun} is too long (more than {limit} characters).")
    if any(ch.isspace() for ch in text):
        raise HandleError(field_name, f"The {noun} must not contain spaces.")
    if not text.isprintable():
        raise HandleError(field_name, f"The {noun} contains control or invisible characters.")
    return text


def _platform(platform: object) -> str:
    name = _clean("platform", platform, 40).lower()
    name = _ALIASES.get(name, name)
    if name not in _RULES:
        raise HandleError(
            "platform", f"Unknown platform {name!r}; use one of: {', '.join(PLATFORMS)}."
        )
    return name


# What a browser reads as a dot in a host name (IDNA maps these full stops to ".").
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_LOOSE_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def _loose_host(text: str) -> str:
    """The host a browser would take from text that is not a well-formed link: after any
    scheme, before the path, without user name or port, percent-escapes decoded, full
    stops of other scripts read as dots."""
    rest = _LOOSE_SCHEME.sub("", text, count=1)
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if not host.startswith("["):
        host = host.partition(":")[0]
    host = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS)
    return host.lower().strip().removesuffix(".")


def _other(text: str) -> ParsedAccount:
    """An account given as platform `other`. `other` is for platforms the registry does not
    know, so a link it can read is taken as what it points to: an X link under `other` is
    the X account (and the uniqueness rule applies to it), an `other` link is normalised
    as any other link is. Text that is no link is kept as written, lower-cased, unless a
    browser would still find a known platform's host in it: that is refused."""
    if not text:
        raise HandleError("handle", "The handle is empty.")
    try:
        return parse_url(text)
    except HandleError:
        pass
    host = _loose_host(text)
    if host in _SHORT_LINKS:
        raise HandleError("handle", f"'{host}' carries short links, not accounts.")
    platform = _family(host)
    if platform is not None:
        label = _RULES[platform].label
        raise HandleError(
            "handle",
            f"'{host}' belongs to {label}: register the account as {label} (its link, or "
            "platform and handle), not as 'other'.",
        )
    handle = text.lower()
    return ParsedAccount("other", handle, _other_url(handle))


def normalise_handle(platform: str, handle: str) -> str:
    """The normalised handle for platform; HandleError if it breaks the platform's rules.
    (An `other` handle that is a known platform's link normalises to that platform's
    handle: see `resolve`, which also gives the platform.)"""
    name = _platform(platform)
    rule = _RULES[name]
    text = _clean("handle", handle, MAX_HANDLE)
    if name == "other":
        return _other(text.lstrip("@")).handle
    text = rule.prep(text.lstrip("@"))
    if not text:
        raise HandleError("handle", "The handle is empty.")
    if not rule.pattern.fullmatch(text):
        raise HandleError(
            "handle", f"'{text}' is not a valid {rule.label} handle: it must be {rule.hint}."
        )
    if text in rule.reserved:
        raise HandleError(
            "handle", f"'{text}' on {rule.label} is {rule.reserved[text]}, not an account."
        )
    return text


def canonical_url(platform: str, handle: str) -> str:
    """The canonical https URL of the account ("" for an 'other' handle that is not a link)."""
    name = _platform(platform)
    if name == "other":
        return resolve(url=None, platform=name, handle=handle).url
    return _RULES[name].url(normalise_handle(name, handle))


def parse_url(url: str) -> ParsedAccount:
    """The account a profile link points to; HandleError('url', ...) if it points to none."""
    text = _clean("url", url, MAX_URL)
    if text.startswith("@"):
        raise HandleError(
            "url", "That looks like a handle, not a link; give the platform and handle instead."
        )
    if "\\" in text:
        raise HandleError("url", "The link must not contain backslashes.")
    lowered = text.lower()
    if lowered.startswith("//"):
        text = "https:" + text
    elif not lowered.startswith(("http://", "https://")):
        if _SCHEME.match(text):
            raise HandleError("url", "Only http and https links are accepted.")
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        raise HandleError("url", "That is not a valid link.") from None
    if "@" in parts.netloc:
        raise HandleError("url", "Links with a user name or password in them are not accepted.")
    if ":" in parts.netloc and "[" not in parts.netloc:
        raise HandleError("url", "Links with a port number are not accepted.")
    host = parts.netloc.lower().removesuffix(".")
    if not host:
        raise HandleError("url", "The link has no web address in it.")
    if not _DOMAIN_RE.fullmatch(host):
        raise HandleError("url", f"'{host}' is not a valid web address.")
    segs = [seg for seg in parts.path.split("/") if seg]
    platform = _host_platform(host)
    if platform is None:
        return _unknown_host(host, segs)
    rule = _RULES[platform]
    raw = rule.extract(segs, parts.query) if rule.extract and segs else None
    if raw is None:
        raise HandleError(
            "url",
            f"This {rule.label} link does not point to an account; "
            f"expected a link like {rule.example}.",
        )
    try:
        handle = normalise_handle(platform, raw)
    except HandleError as err:
        raise HandleError("url", err.message) from None
    return ParsedAccount(platform, handle, rule.url(handle))


_UNRESERVED_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _normal_segments(segs: Segments) -> Segments:
    """Path segments as RFC 3986 §6.2.2 compares them: escapes of unreserved characters
    decoded, '.' and '..' resolved (so one page has one spelling)."""

    def decode(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if (char.isalnum() and char.isascii()) or char in "-._~" else m.group(0)

    out: Segments = []
    for seg in segs:
        seg = _UNRESERVED_ESCAPE.sub(decode, seg)
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    return out


def suspect_handle(url: str) -> tuple[str, str] | None:
    """(platform, handle as written) for a link on a platform's own host whose first path
    segment is a handle with non-ASCII characters, which no platform rule allows (so
    `parse_url` refuses it) but which a look-alike may use (a Cyrillic U+0430 for a Latin `a`);
    None for anything else."""
    text = url.strip()
    if len(text) > MAX_URL or not text.isprintable():
        return None
    if not text.lower().startswith(("http://", "https://")):
        text = "https://" + text.removeprefix("//")
    try:
        parts = urlsplit(text)
        platform = _host_platform(parts.netloc.lower().removesuffix("."))
    except (ValueError, HandleError):
        return None
    if platform is None or platform == "other":
        return None
    segs = [seg for seg in unquote(parts.path).split("/") if seg]
    handle = segs[0].lstrip("@") if segs else ""
    if not handle or len(handle) > MAX_HANDLE or handle.isascii() or not handle.isprintable():
        return None
    return platform, handle


def _unknown_host(host: str, segs: Segments) -> ParsedAccount:
    """A link on no known platform's host: Mastodon if shaped /@user, else 'other'."""
    if segs and segs[0].startswith("@"):
        user = segs[0][1:]
        try:
            handle = normalise_handle("mastodon", user if "@" in user else f"{user}@{host}")
        except HandleError:
            pass
        else:
            return ParsedAccount("mastodon", handle, _mastodon_url(handle))
    while host.startswith("www.") and _DOMAIN_RE.fullmatch(host[4:]):
        host = host[4:]
    address = "/".join([host, *_normal_segments(segs)])
    if len(address) > MAX_HANDLE:
        raise HandleError("url", f"The address is too long (more than {MAX_HANDLE} characters).")
    handle = address.lower()
    return ParsedAccount("other", handle, f"https://{handle}")


def _given(value: str | None) -> str | None:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def resolve(*, url: str | None, platform: str | None, handle: str | None) -> ParsedAccount:
    """The account given by a URL, or by platform and handle, or by both when they agree.

    Blank strings count as not given. With a URL, a platform or handle also given must
    agree with the URL, else HandleError('handle', ...).
    """
    url, platform, handle = _given(url), _given(platform), _given(handle)
    if url is not None:
        name = _platform(platform) if platform is not None else None
        parsed = parse_url(url)
        if name is not None and name not in ("other", parsed.platform):
            raise HandleError(
                "handle",
                f"The link points to {_RULES[parsed.platform].label}, "
                f"but the platform given is {_RULES[name].label}.",
            )
        if handle is not None and normalise_handle(parsed.platform, handle) != parsed.handle:
            raise HandleError(
                "handle", f"The handle does not match the link, which is for '{parsed.handle}'."
            )
        return parsed
    if platform is None and handle is None:
        raise HandleError("url", "give url, or platform and handle")
    if platform is None:
        raise HandleError("platform", "Give the platform for this handle.")
    if handle is None:
        raise HandleError("handle", "Give the handle for this platform.")
    name = _platform(platform)
    if name == "other":
        return _other(_clean("handle", handle, MAX_HANDLE).lstrip("@"))
    normalised = normalise_handle(name, handle)
    return ParsedAccount(name, normalised, _RULES[name].url(normalised))
