"""/docs and /redoc load nothing from outside the service: on a police network with no internet
FastAPI's CDN-backed pages are blank."""

import re

import httpx
import pytest
from fastapi import FastAPI

from kj_runtime.http_ops import add_ops_routes

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


def _app() -> FastAPI:
    app = FastAPI(title="kj-test")

    @app.get("/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    add_ops_routes(app, {})
    return app


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_pages_load_everything_from_the_service(page: str) -> None:
    app = _app()
    assert [r for r in app.router.routes if getattr(r, "path", None) == page].__len__() == 1
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kj.test") as client:
        html = (await client.get(page)).text
        references = [a or b for a, b in REFERENCE.findall(html)]
        assert references, html
        assert "cdn" not in html and "fonts.googleapis" not in html
        for ref in references:
            assert ref.startswith("/"), f"{page} loads {ref} from elsewhere"
            answer = await client.get(ref)
            assert answer.status_code == 200, ref
            assert answer.content, ref
        spec = (await client.get("/openapi.json")).json()
        assert "/v1/ping" in spec["paths"]
