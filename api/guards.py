"""What stands in front of every route, as pure ASGI middleware (no extra task per request):

* ``ClientAddress`` — the caller's address: the peer, or, only when the peer is a configured proxy,
  the right-most address of ``X-Forwarded-For`` that is not one of the proxies, validated as an IP.
* ``RequestGuard`` — request bodies capped before they are parsed (smaller for the public routes
  and the page), and text no store can keep (a NUL, a lone surrogate) refused with 422 before a
  handler sees it, in the path, the query and JSON bodies.
* ``PageGuard`` — a page form's POST accepted only from the page's own origin (the CSRF defence
  of every form, present and future), and the security headers on every response.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
#: The page's content may come only from itself; it may be framed by nobody. Styles are inline.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
#: Swagger UI and ReDoc start from inline scripts (their assets are served by the app, api.docs): they get the
#: other headers only.
DOCS = ("/docs", "/redoc")


def networks(spec: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, 192.168.1.7`` as networks; a word that is neither an address nor a network is an error."""
    found = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted proxy {part!r} is not an IP address or network") from exc
    return tuple(found)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    address = _ip(host or "")
    return address is not None and any(address in n for n in LOOPBACK)


def _within(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, trusted: Iterable[Network]) -> bool:
    return address is not None and any(address in n for n in trusted)


def forwarded_client(peer: str, header: str | None, trusted: tuple[Network, ...]) -> str:
    """The address a request came from. Only a trusted peer's header counts, read from the right
    (each proxy appends the address it saw): the first address that is not a trusted proxy is the
    client. A value that is no IP address means the chain cannot be trusted: the peer is kept."""
    if not trusted or not header or not _within(_ip(peer), trusted):
        return peer
    hops = [h.strip() for h in header.split(",")]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return peer
        if not _within(address, trusted):
            return str(address)
    return str(_ip(hops[0]))  # every hop a proxy of ours: the first one is the origin


class ClientAddress:
    def __init__(self, app: ASGIApp, trusted_proxies: str = "") -> None:
        self.app, self.trusted = app, networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            header = ", ".join(v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for") or None
            host, port = scope["client"]
            client = forwarded_client(host, header, self.trusted)
            if client != host:
                scope = {**scope, "client": (client, 0)}
        await self.app(scope, receive, send)


def is_public(path: str) -> bool:
    """The anonymous routes: the public API and the page (everything outside ``/v1`` but the docs)."""
    return path.startswith("/v1/public") or not path.startswith("/v1")


def _bad_text(value: object) -> str | None:
    """What is wrong with a parsed JSON value's text, if anything."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "a NUL character (\\u0000) is not text"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a lone surrogate (\\ud800–\\udfff without its pair) is not text"
    return None


async def _answer(send: Send, status: int, detail: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body: int, public_max_body: int) -> None:
        self.app, self.max_body, self.public_max_body = app, max_body, public_max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(raw_query.replace(b"+", b" ")):
            await _answer(
                send,
                422,
                [
                    {
                        "type": "nul_character",
                        "loc": ["path" if "\x00" in scope["path"] else "query"],
                        "msg": "a NUL character (%00) is not text",
                    }
                ],
            )
            return
        limit = self.public_max_body if is_public(scope["path"]) else self.max_body
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, f"the request body is larger than the {limit} bytes this route accepts")
            return
        if (
            scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE")
            and declared is None
            and b"transfer-encoding" not in headers
        ):
            await self.app(scope, receive, send)
            return
        # the body, read to its end but never past the limit, then handed on as one message
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > limit:
                await _answer(send, 413, f"the request body is larger than the {limit} bytes this route accepts")
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if headers.get(b"content-type", b"").split(b";")[0].strip().endswith(b"json") and body:
            try:
                problem = _bad_text(json.loads(body))
            except (ValueError, RecursionError):
                problem = None  # not JSON: the route's own validation says so
            if problem:
                await _answer(send, 422, [{"type": "invalid_text", "loc": ["body"], "msg": problem}])
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def same_origin(headers: dict[bytes, bytes]) -> bool:
    """Whether a browser says the request comes from the page's own origin: ``Sec-Fetch-Site``,
    else ``Origin``, else ``Referer`` must agree with ``Host``. A request with none of them was not
    sent by a browser on another site's behalf (browsers send ``Origin`` with every form POST)."""
    host = headers.get(b"host", b"").decode("latin-1").lower()
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return False
    for name in (b"origin", b"referer"):
        if name in headers:
            value = headers[name].decode("latin-1")
            return value != "null" and urlsplit(value).netloc.lower() == host
    return True


class PageGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] == "POST" and not path.startswith("/v1") and not same_origin(dict(scope["headers"])):
            await _answer(
                send,
                403,
                "a form of this page is accepted only from the page itself (cross-site request refused)",
                HEADERS,
            )
            return
        docs = path.startswith(DOCS)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in HEADERS if h[0] not in names]
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html and not docs and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
