"""Debian's Chromium (`apt-get install chromium`, infra/officer-app.sh; never a browser
download) driven by Playwright for Python, headless, as an officer's phone: a fresh profile of
its own, a phone-sized touch screen, Chinese locale and China's time zone, location allowed and
emulated (the test moves it)."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import BrowserContext, Playwright

from tests.e2e.console.browser import CHROMIUM, FLAGS  # one Chromium for every browser test


@asynccontextmanager
async def phone_browser(
    playwright: Playwright, *, at: tuple[float, float] = (27.2505, 111.4560)
) -> AsyncIterator[BrowserContext]:
    with tempfile.TemporaryDirectory(prefix="kj-officer-phone-") as profile:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=profile,
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 412, "height": 860},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            permissions=["geolocation"],
            geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 8},
        )
        try:
            yield context
        finally:
            await context.close()
