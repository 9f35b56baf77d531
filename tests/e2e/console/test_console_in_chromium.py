"""The console in a real Chromium, the way a person uses it (issue 17's "Done means"): sign in,
watch the units move, see a 110 alarm appear, reassign it and see the terminals told, find a
viewer cannot act, put a unit off duty, two dispatchers racing for one unit, a broadcast to the
people in its radius, a unit's track played back; and an alarm its 110 centre moves moving on
the map (issue 19). Every test leaves a screenshot in `$KJ_STATE_DIR/console-e2e/`."""

import asyncio
import math
import time
from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import CORNERS, MOVING, Open, Stack, shot
from .stack import offset

pytestmark = pytest.mark.slow


async def unit_on_screen(page: Page, unit_id: str) -> dict[str, Any] | None:
    """Where the store holds the unit, and whether the units canvas has it drawn there."""
    return await page.evaluate(
        """async (id) => {
            const { store, map, units } = window.kjConsole;
            const unit = store.units.get(id);
            if (!unit) return null;
            const p = map.latLngToContainerPoint([unit.lat, unit.lon]);
            // the layer's canvas is painted in a worker: it is asked for the pixel there
            const pixel = await units.pixel(p.x, p.y);
            return { lat: unit.lat, lon: unit.lon, drawn: pixel[3] > 0, status: unit.status };
        }""",
        unit_id,
    )


async def test_a_person_signs_in_and_watches_the_units_move(
    stack: Stack, open_console: Open
) -> None:
    page = await open_console("wang_fang")
    await expect(page.locator(".tabs button[data-tab=queue]")).to_have_text("警情队列")
    map_ = page.locator("#map")
    await map_.wait_for()
    first = None
    async with asyncio.timeout(30):
        while first is None:
            first = await unit_on_screen(page, MOVING.unit_id)
            await asyncio.sleep(0.2)
    await page.evaluate(
        "([lat, lon]) => { window.kjConsole.map.setView([lat, lon], 15); }",
        [first["lat"], first["lon"]],
    )
    moved = first
    async with asyncio.timeout(20):
        while (moved["lat"], moved["lon"]) == (first["lat"], first["lon"]):
            await asyncio.sleep(0.5)
            moved = await unit_on_screen(page, MOVING.unit_id)
    await asyncio.sleep(0.2)  # the next animation frame draws it
    again = await unit_on_screen(page, MOVING.unit_id)
    assert again is not None and again["drawn"], "the unit is drawn where the store has it"
    await shot(page, "units-moving")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def corner(name: str, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    (lat, lon), _ = CORNERS[name]
    return offset(lat, lon, east_m, north_m)


async def assigned_to(stack: Stack, alarm_id: str, within_s: float = 20) -> str:
    """The unit whose terminal received this alarm's work order."""
    async with asyncio.timeout(within_s):
        while True:
            for unit_id, terminal in stack.terminals.items():
                for (_, action), frame in list(terminal.orders.items()):
                    if action == "assign" and frame["work_order"]["alarm_id"] == alarm_id:
                        return unit_id
            await asyncio.sleep(0.1)


def orders_of(stack: Stack, unit_id: str, alarm_id: str, action: str) -> list[dict[str, Any]]:
    return [
        frame
        for (_, kind), frame in list(stack.terminals[unit_id].orders.items())
        if kind == action and frame["work_order"].get("alarm_id") == alarm_id
    ]


async def test_an_alarm_posted_to_intake_is_on_the_map_and_in_the_queue_within_a_second(
    stack: Stack, open_console: Open
) -> None:
    page = await open_console("wang_fang")
    lat, lon = corner("appear")
    started = time.monotonic()
    alarm_id = await stack.report(lat, lon)
    queued = page.locator(f".queue-item[data-incident='{alarm_id}']")
    marker = page.locator(f".incident-marker[data-incident='{alarm_id}']")
    await queued.wait_for(timeout=5_000)
    await marker.wait_for(state="attached", timeout=5_000)
    took = time.monotonic() - started
    assert took < 1.0, f"{took:.2f} s from the POST to the queue and the map"
    await expect(queued).to_contain_text("盗窃")
    await queued.click()
    await expect(page.locator(".incident .phone").first).to_have_text("138****1234")
    assert "13807391234" not in await page.content()
    await shot(page, "incident-appears")


async def marker_off_by(page: Page, alarm_id: str, lat: float, lon: float) -> float:
    """Pixels between the incident's marker on the map and where (lat, lon) is drawn."""
    return float(
        await page.evaluate(
            """([id, lat, lon]) => {
                const { map } = window.kjConsole;
                const marker = document.querySelector(`.incident-marker[data-incident='${id}']`);
                const box = marker.closest('.incident-icon').getBoundingClientRect();
                const frame = map.getContainer().getBoundingClientRect();
                const p = map.latLngToContainerPoint([lat, lon]);
                return Math.hypot(box.left + box.width / 2 - frame.left - p.x,
                                  box.top + box.height / 2 - frame.top - p.y);
            }""",
            [alarm_id, lat, lon],
        )
    )


async def test_an_alarm_its_integration_moves_moves_on_the_map(
    stack: Stack, open_console: Open
) -> None:
    page = await open_console("wang_fang")
    lat, lon = corner("moved")
    alarm_id = await stack.report(lat, lon)
    await page.locator(f".incident-marker[data-incident='{alarm_id}']").wait_for(
        state="attached", timeout=5_000
    )
    new_lat, new_lon = corner("moved", east_m=1500)
    await page.evaluate(
        "([lat, lon]) => { window.kjConsole.map.setView([lat, lon], 14, { animate: false }); }",
        [new_lat, new_lon],
    )
    async with asyncio.timeout(5):  # drawn where it was reported
        while (off := await marker_off_by(page, alarm_id, lat, lon)) > 3:
            await asyncio.sleep(0.2)
    await stack.update(alarm_id, location={"lat": new_lat, "lon": new_lon})
    async with asyncio.timeout(10):  # ... then where its 110 centre moved it (1.5 km: ~120 px)
        while (off := await marker_off_by(page, alarm_id, new_lat, new_lon)) > 3:
            await asyncio.sleep(0.2)
    assert off <= 3
    await shot(page, "incident-moved")
    # the call ends here: whichever units it holds go back to patrol for the tests after it
    await stack.cancel(alarm_id)
    async with asyncio.timeout(10):
        while held := [
            unit
            for unit, terminal in stack.terminals.items()
            for (order_id, action), frame in list(terminal.orders.items())
            if action == "assign"
            and frame["work_order"]["alarm_id"] == alarm_id
            and (order_id, "withdraw") not in terminal.orders
        ]:
            await asyncio.sleep(0.2)
    assert held == []


async def test_a_dispatcher_reassigns_and_the_terminals_hear_it_while_a_viewer_cannot(
    stack: Stack, open_console: Open
) -> None:
    lat, lon = corner("reassign")
    alarm_id = await stack.report(lat, lon)
    first = await assigned_to(stack, alarm_id)
    assert first == "SY-P23-M1"
    viewer = await open_console("wang_fang")
    await viewer.goto(f"{stack.console_url}/#/incident/{alarm_id}")
    await viewer.locator(f".incident[data-incident='{alarm_id}']").wait_for()
    assert await viewer.locator("button.action").count() == 0
    forced = await viewer.evaluate(
        """async (id) => {
            const me = window.kjConsole.store.me;
            const r = await fetch('/api/commands', {method: 'POST',
              headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
              body: JSON.stringify({kind: 'assign_unit', alarm_id: id, unit_id: 'SY-P23-M2'})});
            return r.status;
        }""",
        alarm_id,
    )
    assert forced == 403

    page = await open_console("zhang_wei")
    await page.goto(f"{stack.console_url}/#/incident/{alarm_id}")
    order = page.locator(".order[data-unit='SY-P23-M1']")
    await expect(order).to_contain_text("预计到达")
    await expect(order).to_contain_text("次选")  # the runner-up and why
    await page.select_option("select.choose-unit", "SY-P23-M2")
    await page.click("button.action.assign")
    await expect(page.locator(".toast.done")).to_contain_text("改派警力", timeout=10_000)
    async with asyncio.timeout(15):
        while not (
            orders_of(stack, "SY-P23-M2", alarm_id, "assign")
            and orders_of(stack, "SY-P23-M1", alarm_id, "withdraw")
        ):
            await asyncio.sleep(0.1)
    (withdrawn,) = orders_of(stack, "SY-P23-M1", alarm_id, "withdraw")
    assert withdrawn["work_order"]["withdraw_reason"] == "reassigned_by_dispatcher"
    timeline = page.locator("ol.timeline li[data-kind=dispatcher_command]")
    await expect(timeline.first).to_contain_text("zhang_wei", timeout=15_000)
    await shot(page, "reassigned")


async def test_a_unit_put_off_duty_is_kept_out_of_the_next_assignment(
    stack: Stack, open_console: Open
) -> None:
    page = await open_console("li_na")
    await page.goto(f"{stack.console_url}/#/unit/SY-P27-M1")
    await page.locator(".unit-page[data-unit='SY-P27-M1']").wait_for()
    await page.click("button.duty-off_duty")
    await expect(page.locator(".toast.done")).to_contain_text("勤务调整", timeout=10_000)
    await expect(page.locator(".unit-page .facts")).to_contain_text("下岗")
    lat, lon = corner("duty")
    alarm_id = await stack.report(lat, lon)
    assert await assigned_to(stack, alarm_id) == "SY-P27-M2"
    assert orders_of(stack, "SY-P27-M1", alarm_id, "assign") == []
    await shot(page, "unit-off-duty")


async def test_two_dispatchers_send_one_unit_to_two_incidents_one_is_told_why_not(
    stack: Stack, open_console: Open
) -> None:
    one = await stack.report(*corner("race", 0, 100))
    two = await stack.report(*corner("race", 0, -100))
    assert {await assigned_to(stack, one), await assigned_to(stack, two)} == {
        "SY-P30-M1",
        "SY-P30-M2",
    }
    zhang, li = await open_console("zhang_wei"), await open_console("li_na")
    for page, alarm_id in ((zhang, one), (li, two)):
        await page.goto(f"{stack.console_url}/#/incident/{alarm_id}")
        await page.locator(f".incident[data-incident='{alarm_id}']").wait_for()
        await page.select_option("select.choose-unit", "SY-P30-C1")
    await asyncio.gather(zhang.click("button.action.assign"), li.click("button.action.assign"))
    outcomes = {}
    for name, page in (("zhang", zhang), ("li", li)):
        toast = page.locator(".toast.done, .toast.refused").last
        await toast.wait_for(timeout=15_000)
        outcomes[name] = (await toast.get_attribute("class"), await toast.inner_text())
    kinds = sorted("done" if "done" in c else "refused" for c, _ in outcomes.values())
    assert kinds == ["done", "refused"], outcomes
    (told,) = [text for c, text in outcomes.values() if "refused" in c]
    assert "该警力已有未结派警单" in told
    loser = zhang if "refused" in outcomes["zhang"][0] else li
    await shot(loser, "two-dispatchers-one-refused")


async def test_a_broadcast_reaches_the_people_in_its_radius_and_the_count_comes_back(
    stack: Stack, open_console: Open
) -> None:
    lat, lon = corner("broadcast")
    inside = {f"TAXI-E2E-{i}": offset(lat, lon, 150 * i, 100) for i in range(1, 4)}
    outside = {"TAXI-E2E-FAR": offset(lat, lon, 5000), "VOL-E2E-FAR": offset(lat, lon, 0, -4000)}
    async with stack.pool.acquire() as db:
        for rid, (rlat, rlon) in {**inside, **outside}.items():
            kind = "volunteer" if rid.startswith("VOL") else "taxi"
            await db.execute(
                "insert into field_recipients (recipient_id, kind, lat, lon) values"
                " ($1, $2, $3, $4) on conflict do nothing",
                rid,
                kind,
                rlat,
                rlon,
            )
    async with stack.pool.acquire() as db:
        registry = await db.fetch(
            "select recipient_id, lat, lon from field_recipients where active"
        )
    expected = {
        r["recipient_id"] for r in registry if metres((lat, lon), (r["lat"], r["lon"])) <= 1000
    }
    assert set(inside) <= expected and not expected & set(outside)
    alarm_id = await stack.report(lat, lon)
    page = await open_console("zhang_wei")
    await page.goto(f"{stack.console_url}/#/incident/{alarm_id}")
    await page.locator(".broadcast").wait_for()
    await page.fill(".broadcast input[name=radius]", "1000")
    await page.click("button.send-broadcast")
    counts = page.locator(".broadcast-counts").first
    await expect(counts).to_contain_text(f"已送达 {len(expected)}，", timeout=40_000)
    pushed = [r.body.decode() for r in stack.push.received if r.path == "/push"]
    registered = {r["recipient_id"] for r in registry}
    reached = {rid for rid in registered if any(f'"{rid}"' in body for body in pushed)}
    assert reached == expected
    await shot(page, "broadcast-delivered")


async def test_a_units_track_plays_back(stack: Stack, open_console: Open) -> None:
    page = await open_console("chen_jie")
    await page.goto(f"{stack.console_url}/#/unit/{MOVING.unit_id}")
    await page.locator(".unit-page").wait_for()
    await page.select_option(".playback select[name=window]", "15")
    info = page.locator(".track-info")
    async with asyncio.timeout(60):  # tracks are written by the tracks role in batches
        while True:
            await page.click("button.load-track")
            await expect(info).not_to_have_text("", timeout=10_000)
            if "个定位点" in await info.inner_text():
                break
            await asyncio.sleep(2)
    start = await page.locator(".track-time").inner_text()
    before = int(await page.locator(".track-slider").input_value())
    await page.click("button.play")
    await expect(page.locator(".track-time")).not_to_have_text(start, timeout=5_000)
    after = int(await page.locator(".track-slider").input_value())
    assert after > before, "the marker moved along the track"
    await shot(page, "track-playback")


async def test_the_unit_board_follows_the_units_without_losing_the_persons_place(
    stack: Stack, open_console: Open
) -> None:
    """The board shows every unit of the city by platform, with what the units report; as their
    positions stream in each second, the chip a person has reached with the keyboard keeps the
    focus (the board once rebuilt every chip every second)."""
    page = await open_console("wang_fang")
    await page.goto(f"{stack.console_url}/#/units")
    chip = page.locator(f".unit-chip[data-unit='{MOVING.unit_id}']")
    await expect(chip).not_to_have_attribute("data-status", "none", timeout=20_000)
    city_units = await page.evaluate("() => window.kjConsole.store.city.units.length")
    await expect(page.locator(".unit-chip")).to_have_count(city_units)
    status = await page.evaluate(
        "(id) => window.kjConsole.store.units.get(id).status", MOVING.unit_id
    )
    await expect(chip).to_have_attribute("data-status", status)
    await chip.focus()

    async def last_seen() -> float:
        return float(
            await page.evaluate("(id) => window.kjConsole.store.units.get(id).seen", MOVING.unit_id)
        )

    seen = await last_seen()
    async with asyncio.timeout(15):  # two more diffs of positions reach the page
        for _ in range(2):
            while await last_seen() == seen:
                await asyncio.sleep(0.2)
            seen = await last_seen()
    await asyncio.sleep(1.2)  # the board redraws at most once a second
    focused = await page.evaluate("() => document.activeElement?.dataset?.unit ?? null")
    assert focused == MOVING.unit_id, "the focused chip is still the one the person reached"
    await shot(page, "unit-board")
