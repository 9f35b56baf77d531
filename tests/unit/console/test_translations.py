"""Every text a person reads on the console comes from the one table (static/app/i18n.js), in
Chinese and in English: a key used by the page exists, and both languages have the same keys."""

import re
from pathlib import Path

import kj_console

APP = Path(kj_console.__file__).parent / "static" / "app"


def table(lang: str) -> set[str]:
    source = (APP / "i18n.js").read_text(encoding="utf-8")
    start = source.index(f"  {lang}: {{")
    end = source.index("\n  },", start)
    return set(re.findall(r"^    '([a-z0-9_.]+)':", source[start:end], re.MULTILINE))


def test_chinese_and_english_have_the_same_texts() -> None:
    zh, en = table("zh"), table("en")
    assert zh - en <= {"app.city", "units.platform", "unit.title", "incident.by"}
    assert en <= zh


def test_every_literal_key_the_page_uses_is_in_the_table() -> None:
    zh = table("zh")
    used: set[str] = set()
    for script in APP.rglob("*.js"):
        used |= set(re.findall(r"\bt\('([a-z0-9_.]+)'", script.read_text(encoding="utf-8")))
    assert used and used <= zh, sorted(used - zh)


def test_the_page_loads_nothing_from_another_host() -> None:
    static = APP.parent
    for path in [static / "index.html", static / "console.css", *APP.rglob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=[\"']https?://", text), path
        assert "@import url(" not in text and "fonts.googleapis" not in text, path
