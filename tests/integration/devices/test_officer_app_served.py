"""The gateway serves the officer app itself: its page, its code and the map library that
`make install` copied from npm, under a content policy that lets the page reach only its own
host (and notify's socket); the phones' location endpoints are not touched by it."""

import httpx

from .conftest import Gateway


async def test_the_app_and_its_map_library_come_from_the_gateway(gateway: Gateway):
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        redirect = await client.get("/app")
        assert redirect.status_code == 308 and redirect.headers["location"] == "/app/"
        page = await client.get("/app/")
        assert page.status_code == 200
        assert "<title>快警出警</title>" in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "https:" not in policy  # no CDN: nothing from another host
        for path in ("app/main.js", "vendor/leaflet/leaflet-src.esm.js", "sw.js"):
            code = await client.get(f"/app/{path}")
            assert code.status_code == 200, path
            assert "javascript" in code.headers["content-type"], path
        manifest = await client.get("/app/manifest.webmanifest")
        assert manifest.json()["start_url"] == "/app/"
        config = (await client.get("/app/api/config")).json()
        assert config["tile_url"] is None and config["position_flush_s"] > 0
        assert (await client.get("/app/nothing-here.js")).status_code == 404
        located = await client.post("/v1/locations", json={"device_id": "x", "fixes": []})
        assert "content-security-policy" not in located.headers
