"""The console in a real Chromium, the way a person uses it (issue 17's "Done means"): sign in,
watch the units move, see a 110 alarm appear, reassign it and see the terminals told, find a
viewer cannot act, put a unit off duty, two dispatchers racing for one unit, a broadcast to the
people in its radius, a unit's track played back. Every test leaves a screenshot in
`$KJ_STATE_DIR/console-e2e/`."""

import asyncio
from typing import Any

import pytest
from playwright.async_api import Page, expect

from .conftest import MOVING, Open, Stack, shot

pytestmark = pytest.mark.slow


async def unit_on_screen(page: Page, unit_id: str) -> dict[str, Any] | None:
    """Where the store holds the unit, and whether the units canvas has it drawn there."""
    return await page.evaluate(
        """(id) => {
            const { store, map } = window.kjConsole;
            const unit = store.units.get(id);
            if (!unit) return null;
            const p = map.latLngToContainerPoint([unit.lat, unit.lon]);
            const canvas = document.querySelector('.units-canvas');
            const ratio = canvas.width / canvas.clientWidth;
            const pixel = canvas.getContext('2d').getImageData(
                Math.round(p.x * ratio), Math.round(p.y * ratio), 1, 1).data;
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
