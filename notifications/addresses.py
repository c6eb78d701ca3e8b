"""Which addresses a webhook may reach: public ones only, unless the operator allows private ones.

    refusal(address, say)      why an IP address is no place for a webhook (None: it is public)
    check_url(url, ...)        at subscription: refuse a URL whose host is, or resolves to, such an address
    PublicOnlyTransport        at delivery: resolve the host, check every address, then connect to a
                               checked address (Host header and TLS name stay the URL's), so a
                               name cannot resolve to something else between the check and the connection

Refused: loopback, private (RFC 1918, shared 100.64/10), link-local, unique-local, site-local,
multicast, unspecified, reserved and other special-purpose blocks, the cloud metadata addresses
(169.254.169.254, fd00:ec2::254), and the same addresses inside IPv6 (IPv4-mapped, IPv4-compatible,
NAT64 64:ff9b::/96, 6to4). `ACCORD_WEBHOOK_ALLOW_PRIVATE=true` turns the check off (development,
tests, a receiver on the same private network).

A refusal at subscription is a person's to read: in the language being read (`engine.i18n.reading`).
A refusal at delivery is kept in the delivery's `last_error`, a record: in English, whoever's request
happened to start the delivery.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import httpx

from engine import i18n
from engine.errors import InvalidInput

IPAddress = IPv4Address | IPv6Address

ALLOW_SETTING = "ACCORD_WEBHOOK_ALLOW_PRIVATE"
RESOLVE_TIMEOUT = 5.0

_METADATA = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})
_PRIVATE_V4 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"),
               IPv4Network("100.64.0.0/10"))
_UNIQUE_LOCAL = IPv6Network("fc00::/7")
_NAT64 = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")


class AddressRefused(httpx.ConnectError):
    """Raised by `PublicOnlyTransport` before connecting: the host is, or resolves to, a non-public address."""


Say = Callable[[str], str]


def _in_english(message: str) -> str:
    return message


def refusal(address: IPAddress, say: Say = _in_english) -> str | None:
    """Why `address` is no place to send a webhook, as a phrase (None: it is a public address);
    `say` translates its words (`i18n.gettext`: the reader's language), English by default."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = refusal(embedded, say)
        return None if inner is None else say(i18n.N_("%(address)s carries the IPv4 address %(inner)s")) % {
            "address": address, "inner": inner}
    category = _category(address)
    return None if category is None else say(i18n.N_("%(address)s, %(category)s")) % {
        "address": address, "category": say(category)}


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _category(address: IPAddress) -> str | None:
    """What kind of non-public address `address` is, in English (marked for the catalog)."""
    if address in _METADATA:
        return i18n.N_("a cloud metadata address")
    if address.is_unspecified:
        return i18n.N_("the unspecified address")
    if address.is_loopback:
        return i18n.N_("a loopback address")
    if address.is_link_local:
        return i18n.N_("a link-local address")
    if address.is_multicast:
        return i18n.N_("a multicast address")
    if isinstance(address, IPv6Address) and address in _UNIQUE_LOCAL:
        return i18n.N_("a unique-local address")
    if isinstance(address, IPv6Address) and address.is_site_local:
        return i18n.N_("a site-local address")
    if isinstance(address, IPv4Address) and any(address in network for network in _PRIVATE_V4):
        return i18n.N_("a private address")
    if address.is_reserved:
        return i18n.N_("a reserved address")
    if address.is_private or not address.is_global:
        return i18n.N_("a special-purpose address that is not publicly routable")
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def _is_localhost(host: str) -> bool:
    """`localhost` and every name under it are loopback whatever DNS says (RFC 6761)."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` has (itself when it is an address), in the resolver's order."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM),
                                   timeout=RESOLVE_TIMEOUT)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])  # an IPv6 zone id is not part of it
        if address not in found:
            found.append(address)
    return found


def _refused(host: str, addresses: list[IPAddress], say: Say = _in_english) -> str | None:
    """Why no webhook may go to `host`, whose addresses are `addresses`: the first that is not
    public (None: all of them are)."""
    for address in addresses:
        reason = refusal(address, say)
        if reason is not None:
            return reason if _literal(host) is not None else say(i18n.N_("%(host)s resolves to %(reason)s")) % {
                "host": host, "reason": reason}
    return None


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def check_url(url: str, *, allow_private: bool) -> None:
    """At subscription: an http(s) URL whose host is not, and does not resolve to, a non-public
    address. A name that does not resolve now is accepted: every delivery checks again."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(i18n.gettext("Give an http:// or https:// address for the webhook."), field="url")
    if allow_private:
        return
    host = parsed.host
    if _is_localhost(host):
        raise InvalidInput(i18n.gettext("%(host)s is a loopback name; webhooks go to public addresses only (set "
                                        "%(setting)s=true to allow private ones, for development).")
                           % {"host": host, "setting": ALLOW_SETTING}, field="url")
    try:
        addresses = await resolve(parsed.raw_host.decode("ascii"), _port(parsed))
    except (OSError, TimeoutError, UnicodeError):
        return
    reason = _refused(host, addresses, i18n.gettext)
    if reason is not None:
        raise InvalidInput(i18n.gettext("%(reason)s; webhooks go to public addresses only (set %(setting)s=true to "
                                        "allow private ones, for development).")
                           % {"reason": reason, "setting": ALLOW_SETTING}, field="url")


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """Resolves the host itself, refuses it unless every address is public (or private ones are
    allowed), and connects to those checked addresses (the next one if a connection fails),
    sending the URL's name as the Host header and as the TLS server name, so the certificate is
    still checked against the name. Each name gets its own connection pool, so a connection made
    for one name never carries a request for another."""

    def __init__(self, *, allow_private: bool = False, verify: ssl.SSLContext | bool = True) -> None:
        self.allow_private = allow_private
        self._verify = verify
        self._pools: dict[tuple[str, str, int], httpx.AsyncHTTPTransport] = {}

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key = (url.scheme, url.host, _port(url))
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._verify)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url, host = request.url, request.url.host
        if not self.allow_private and _is_localhost(host):
            raise AddressRefused(f"{host} is a loopback name", request=request)
        try:
            addresses = await resolve(url.raw_host.decode("ascii"), _port(url))
        except (OSError, TimeoutError, UnicodeError) as error:
            raise httpx.ConnectError(f"{host} could not be resolved ({error})", request=request) from error
        if not addresses:
            raise httpx.ConnectError(f"{host} has no address", request=request)
        reason = None if self.allow_private else _refused(host, addresses)
        if reason is not None:
            raise AddressRefused(reason, request=request)
        pool = self._pool(url)
        failure: httpx.ConnectError | None = None
        for address in addresses:
            pinned = httpx.Request(request.method, url.copy_with(host=str(address)), headers=request.headers,
                                   stream=request.stream,
                                   extensions={**request.extensions, "sni_hostname": host})
            try:
                return await pool.handle_async_request(pinned)
            except httpx.ConnectError as error:  # nothing was sent: the next address may answer
                failure = error
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
