"""Phones over HTTP: the OsmAnd / Traccar Client query, the JSON batch, per-device tokens and
datums, against the real gateway and broker."""

import time
from datetime import UTC, datetime, timedelta

import httpx

from kj_devices.domain.binding import Protocol
from kj_devices.domain.coords import Datum, gcj02_to_bd09, wgs84_to_gcj02
from kj_runtime.settings import KafkaSettings

from .conftest import Bind, Gateway, eventually, pings_of

HOME = (27.2389, 111.4677)


async def test_an_osmand_client_reports_in_gcj02_and_its_ping_is_wgs84(
    gateway: Gateway, bind: Bind, topics: KafkaSettings
):
    added = await bind("phone-osm-1", "SY-P02-C2", protocol=Protocol.http, datum=Datum.gcj02)
    glat, glon = wgs84_to_gcj02(*HOME)
    ts = int(time.time())
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        answer = await client.get(
            "/",
            params={
                "id": "phone-osm-1",
                "lat": glat,
                "lon": glon,
                "timestamp": ts,
                "speed": 10,
                "bearing": 270,
                "accuracy": 8,
                "key": added.secret,
            },
        )
        assert answer.status_code == 200, answer.text
        wrong = await client.get(
            "/",
            params={"id": "phone-osm-1", "lat": glat, "lon": glon, "timestamp": ts, "key": "guess"},
        )
        assert wrong.status_code == 401 and wrong.json()["reason"] == "unknown_device"
        broken = await client.get(
            "/",
            params={
                "id": "phone-osm-1",
                "lat": "north",
                "lon": glon,
                "timestamp": ts,
                "key": added.secret,
            },
        )
        assert broken.status_code == 400 and "lat" in broken.json()["detail"]

    await eventually(lambda: pings_of(topics, "SY-P02-C2"))
    (ping,) = await pings_of(topics, "SY-P02-C2")
    assert abs(ping["lat"] - HOME[0]) < 1e-6 and abs(ping["lon"] - HOME[1]) < 1e-6
    assert abs(ping["speed_kmh"] - 18.52) < 1e-9  # 10 knots, as Traccar Client sends speed
    assert ping["heading_deg"] == 270 and ping["accuracy_m"] == 8
    assert datetime.fromisoformat(ping["ts"]).timestamp() == ts


async def test_a_burst_after_a_dead_zone_is_taken_in_order(
    gateway: Gateway, bind: Bind, topics: KafkaSettings
):
    added = await bind("phone-batch-1", "SY-P02-M1", protocol=Protocol.http, datum=Datum.bd09)
    start = datetime.now(UTC) - timedelta(minutes=5)
    fixes = []
    for i in range(20):
        lat, lon = gcj02_to_bd09(*wgs84_to_gcj02(HOME[0] + i * 0.0001, HOME[1]))
        fixes.append(
            {
                "ts": (start + timedelta(seconds=10 * i)).isoformat(),
                "lat": lat,
                "lon": lon,
                "speed_kmh": 20.0,
            }
        )
    fixes.reverse()  # queued newest first by the phone: the gateway sorts them
    fixes.append({"ts": start.isoformat(), "lat": 999.0, "lon": 0.0})
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        answer = await client.post(
            "/v1/locations",
            json={"device_id": "phone-batch-1", "fixes": fixes},
            headers={"Authorization": f"Bearer {added.secret}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "accepted": 20,
            "refused": [{"index": 20, "reason": "bad_position"}],
        }
        unsigned = await client.post(
            "/v1/locations", json={"device_id": "phone-batch-1", "fixes": fixes[:1]}
        )
        assert unsigned.status_code == 401
        schema = await client.post(
            "/v1/locations",
            json={"device_id": "phone-batch-1", "fixes": [{"lat": 1}]},
            headers={"Authorization": f"Bearer {added.secret}"},
        )
        assert schema.status_code == 422 and "ts" in schema.json()["detail"]

    await eventually(lambda: len_at_least(topics, "SY-P02-M1", 20))
    pings = await pings_of(topics, "SY-P02-M1")
    times = [datetime.fromisoformat(p["ts"]) for p in pings]
    assert times == sorted(times) and len(times) == 20
    assert all(abs(p["lat"] - (HOME[0] + i * 0.0001)) < 1e-6 for i, p in enumerate(pings))


async def len_at_least(topics: KafkaSettings, unit: str, n: int) -> bool:
    return len(await pings_of(topics, unit)) >= n


async def test_an_808_terminal_cannot_post_http_locations(gateway: Gateway, bind: Bind):
    added = await bind("13900000077", "SY-P02-M2")
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        answer = await client.get(
            "/",
            params={
                "id": "13900000077",
                "lat": 27.2,
                "lon": 111.4,
                "timestamp": int(time.time()),
                "key": added.secret,
            },
        )
    assert answer.status_code == 401


async def test_traccar_client_posts_are_taken_from_the_query_or_a_form(
    gateway: Gateway, bind: Bind, topics: KafkaSettings
):
    """Traccar Client posts its fix in the query with an empty body; some clients post a form.
    Both used to be a 500 (the form parser needs a library the gateway does not ship)."""
    added = await bind("phone-post-1", "SY-P04-M1", protocol=Protocol.http)
    ts = int(time.time())
    fix = {"id": "phone-post-1", "lat": HOME[0], "lon": HOME[1], "timestamp": ts}
    async with httpx.AsyncClient(base_url=gateway.http_url) as client:
        queried = await client.post("/", params={**fix, "key": added.secret})
        assert queried.status_code == 200, queried.text
        formed = await client.post(
            "/osmand",
            data={**fix, "timestamp": ts + 1},
            headers={"Authorization": f"Bearer {added.secret}"},
        )
        assert formed.status_code == 200, formed.text
        multipart = await client.post(
            "/",
            params={"id": "phone-post-1"},
            files={"lat": b"27.2"},
            headers={"Authorization": f"Bearer {added.secret}"},
        )
        assert multipart.status_code == 400 and multipart.json()["reason"] == "bad_parameter"

    await eventually(lambda: len_at_least(topics, "SY-P04-M1", 2))
    assert len(await pings_of(topics, "SY-P04-M1")) == 2
