"""Requests to URLs a workspace chose reach public addresses only (SPEC §12).

A workspace admin names the URL, so without this check a subscription could make the hub POST to
its own loopback, the database port or the cloud's metadata address. The name is resolved, every
address checked with the standard `ipaddress` module, and the connection made to the address that
was checked (so a name that resolves differently a moment later cannot slip past). Redirects are
not followed. `STATUSHUB_ALLOW_PRIVATE_URLS=1` turns the check off, for receivers on a private
network and for tests.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class NotPublic(ValueError):
    """The URL's host is (or resolves to) an address that is not on the public internet."""


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified and shared addresses,
    including IPv4 addresses inside IPv6 (`::ffff:127.0.0.1`, 6to4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id (`fe80::1%eth0`) is no part of it
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def resolve_public(host: str, port: int | None) -> str | None:
    """The first address `host` resolves to, after checking that every one is public; None when the
    name does not resolve (nothing can be reached). Raises NotPublic naming the host."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return None
    addresses = [str(info[4][0]) for info in found]
    if not all(is_public(a) for a in addresses):
        raise NotPublic(f"{host} is not a public address")
    return addresses[0] if addresses else None


def check_url(url: str) -> None:
    """Raises NotPublic unless `url` is http(s) and its host resolves only to public addresses (or not
    yet at all: every delivery checks again)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotPublic(f"{url!r} is not an http(s) URL")
    resolve_public(parts.hostname, None)


class _PublicOnly:
    """A urllib3 connection that connects only to the public address it resolved and checked."""

    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        address = resolve_public(name, self.port)
        if address is None:
            raise NotPublic(f"{name} does not resolve")
        self._dns_host = address  # TLS still checks the certificate against the name (self.host)
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = name


class _HTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _HTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session(*, allow_private: bool) -> requests.Session:
    """A requests session for workspace-chosen URLs: public addresses only unless `allow_private`.
    Checked sessions ignore the environment's proxy settings (the proxy, not the receiver, would be the
    address checked) and so verify TLS against requests' own CA bundle."""
    s = requests.Session()
    if not allow_private:
        s.trust_env = False
        adapter = _PublicOnlyAdapter()
        s.mount("http://", adapter)
        s.mount("https://", adapter)
    return s


class Unreachable(Exception):
    """A call that got no answer; `kind` is "refused" (the URL leads to a private address: retrying
    cannot help), "timeout" or "connection". The message never carries the exception's text, which
    would tell which ports are open and what answers on them."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def call(http: requests.Session, method: str, url: str, *, timeout: float, **kwargs) -> requests.Response:
    """`http.request` without redirects, its failures as `Unreachable` with a message safe to store."""
    try:
        return http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except NotPublic:
        raise Unreachable("refused: the URL does not lead to a public address", "refused") from None
    except requests.Timeout:
        raise Unreachable(f"no answer in {timeout:g} s", "timeout") from None
    except requests.RequestException:
        raise Unreachable("connection failed", "connection") from None
