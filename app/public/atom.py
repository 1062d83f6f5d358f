"""The directory's feed as Atom 1.0 (RFC 4287), as the US Digital Registry published its
own: one entry per addition, change or closure, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from app.public.service import Feed, FeedEntry

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:police-social-registry,2026"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # `updated` of a feed with no entry yet
_VERB = {"added": "Added", "changed": "Changed", "removed": "Removed"}
_LABELS = {
    "platform": "platform",
    "handle": "handle",
    "url": "link",
    "display_name": "display name",
    "classification": "classification",
}

ET.register_namespace("", ATOM)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _summary(entry: FeedEntry) -> str:
    a = entry.account
    where = f"@{a.handle} on {a.platform}, {a.classification} account of {a.force.name}"
    if entry.kind == "added":
        return f"{where}, is now in the official directory."
    if entry.kind == "removed":
        return f"{where}, is no longer in the official directory (now {entry.status})."
    changed = "; ".join(
        f"{_LABELS[k]}: {old or '(none)'} → {new or '(none)'}"
        for k, (old, new) in sorted(entry.changes.items())
    )
    return f"{where}: {changed}."


def render(feed: Feed, self_url: str, site_url: str) -> bytes:
    root = ET.Element(f"{{{ATOM}}}feed")
    scope = f":{feed.force.code}" if feed.force else ""
    whose = f" of {feed.force.name}" if feed.force else ""
    _sub(root, "id", f"{TAG}:directory{scope}")
    _sub(root, "title", f"Official police social media accounts{whose}: changes")
    _sub(root, "subtitle", "Accounts added to, changed in and removed from the official directory.")
    newest = feed.entries[0].at if feed.entries else _EPOCH
    _sub(root, "updated", _stamp(newest))
    _sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(root, "link", rel="alternate", type="text/html", href=site_url)
    author = _sub(root, "author")
    _sub(author, "name", "Police social media account registry")
    _sub(root, "generator", "police-social-registry")
    for entry in feed.entries:
        a = entry.account
        item = _sub(root, "entry")
        _sub(item, "id", f"{TAG}:event:{entry.event_id}")
        _sub(item, "title", f"{_VERB[entry.kind]}: @{a.handle} on {a.platform} ({a.force.name})")
        _sub(item, "updated", _stamp(entry.at))
        _sub(item, "published", _stamp(entry.at))
        _sub(item, "link", rel="alternate", href=a.url)
        _sub(item, "category", term=entry.kind, label=_VERB[entry.kind])
        _sub(item, "category", term=f"force:{a.force.code}", label=a.force.name)
        _sub(item, "summary", _summary(entry), type="text")
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
