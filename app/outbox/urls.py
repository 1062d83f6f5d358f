"""Where webhooks may point: https to public addresses only (SSRF).

A URL is checked when a webhook is saved and its host's addresses again at each delivery,
and the delivery connects to the address that was checked (with the name kept for TLS and
the Host header), so a name that re-resolves to an internal address (DNS rebinding)
reaches nothing. `REGISTRY_WEBHOOK_ALLOW_PRIVATE_URLS=true` lifts both rules (http and
private addresses) for development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """Why a webhook URL may not be called."""


@dataclass(frozen=True)
class Target:
    url: str  # what to connect to (the checked address in place of the name)
    host: str  # the name, for TLS (SNI and the certificate's check)
    host_header: str | None  # the Host header where the URL names an address


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )  # fmt: skip


def check_form(url: str, allow_private: bool) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL; UnsafeURL otherwise (no DNS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        raise UnsafeURL("Webhook URLs must use https.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Webhook URLs may not carry credentials; the signature proves the sender.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The URL's port is not a number from 1 to 65535.") from None
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise UnsafeURL("Webhook URLs may not point at this host (loopback).")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not public(str(literal)):
            raise UnsafeURL(
                f"{host} is a loopback, private, link-local or reserved address; webhooks "
                "go to public addresses only."
            )
    return parts.scheme, host, port


async def resolve(url: str, allow_private: bool) -> Target:
    """Resolve the URL's host now and check every address it has; the address to call."""
    _scheme, host, port = check_form(url, allow_private)
    if allow_private:
        return Target(url=url, host=host, host_header=None)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeURL(f"The host {host} does not resolve.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeURL(f"The host {host} does not resolve.")
    refused = [a for a in addresses if not public(a)]
    if refused:
        raise UnsafeURL(
            f"{host} resolves to {refused[0]}, a loopback, private, link-local or reserved "
            "address; webhooks go to public addresses only."
        )
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    parts = urlsplit(url)
    target = parts._replace(netloc=f"{netloc}:{port}").geturl()
    header = host if parts.port is None else f"{host}:{port}"
    return Target(url=target, host=host, host_header=header)
