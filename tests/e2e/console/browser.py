"""Debian's Chromium (`apt-get install chromium`, infra/install.sh; never a browser download)
driven by Playwright for Python, headless, each person in a fresh profile of their own."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext, Playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium(
    playwright: Playwright, *, width: int = 1600, height: int = 900
) -> AsyncIterator[BrowserContext]:
    """A browser with a profile of its own (`--user-data-dir`, Playwright's
    `launch_persistent_context`), thrown away afterwards."""
    with tempfile.TemporaryDirectory(prefix="kj-chromium-") as profile:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(Path(profile)),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": width, "height": height},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        try:
            yield context
        finally:
            await context.close()
