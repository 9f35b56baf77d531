"""Who a request comes from, and whether it may act: the session cookie, the CSRF token every
request that changes something carries in a header, and the same-origin check (a page of
another site can make a browser send the cookie, never read the token)."""

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from kj_console.domain.sessions import COOKIE, CSRF_HEADER
from kj_console.service_layer.auth import SignedIn
from kj_console.service_layer.console import Console


def same_origin(headers: Mapping[str, str]) -> bool:
    """No Origin header (not a cross-site browser request), or one naming this host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == headers.get("host", "")


async def signed_in(request: Request) -> SignedIn:
    console: Console = request.app.state.console
    who = await console.accounts.session(request.cookies.get(COOKIE))
    if who is None:
        raise HTTPException(401, {"reason": "signed_out", "detail": "sign in first"})
    return who


async def acting(request: Request) -> SignedIn:
    """A signed-in person's request that changes something: same origin, with the CSRF token."""
    if not same_origin(request.headers):
        raise HTTPException(403, {"reason": "cross_origin", "detail": "not from this console"})
    who = await signed_in(request)
    offered = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(offered.encode(), who.csrf.encode()):
        raise HTTPException(403, {"reason": "csrf", "detail": "missing or wrong CSRF token"})
    return who
