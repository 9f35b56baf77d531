"""Every text an officer reads in the app comes from the one table (static/app/i18n.js), in
Chinese and in English; every code the platform sends it (a category, a tier, a state) has its
words; and the app loads nothing from another host."""

import re
from pathlib import Path

import kj_devices
from kj_schemas.enums import AlarmCategory, ResponseTier, WorkOrderEventKind

STATIC = Path(kj_devices.__file__).parent / "static"
APP = STATIC / "app"


def table(lang: str) -> set[str]:
    source = (APP / "i18n.js").read_text(encoding="utf-8")
    start = source.index(f"  {lang}: {{")
    end = source.index("\n  },", start)
    return set(re.findall(r"^    '([a-z0-9_.]+)':", source[start:end], re.MULTILINE))


def used(pattern: str) -> set[str]:
    found: set[str] = set()
    for script in APP.glob("*.js"):
        found |= set(re.findall(pattern, script.read_text(encoding="utf-8")))
    return found


def test_chinese_and_english_have_the_same_texts() -> None:
    assert table("zh") == table("en")


def test_every_literal_key_the_app_uses_is_in_the_table() -> None:
    keys = used(r"\bt\('([a-z0-9_.]+)'")
    assert len(keys) > 30 and keys <= table("zh"), sorted(keys - table("zh"))


def test_every_code_the_platform_sends_has_its_words() -> None:
    zh = table("zh")
    for prefix, codes in (
        ("category", AlarmCategory),
        ("tier", ResponseTier),
        ("state", WorkOrderEventKind),
    ):
        missing = {f"{prefix}.{code.value}" for code in codes} - zh
        assert not missing, missing
    assert "state.assigned" in zh  # before the first answer


def test_every_choice_offered_has_its_words() -> None:
    source = (APP / "i18n.js").read_text(encoding="utf-8")
    zh = table("zh")
    for name, prefix in (("DISPOSITIONS", "disposition"), ("REJECT_REASONS", "reject")):
        listed = re.search(rf"export const {name} = \[(.*?)\];", source, re.DOTALL)
        assert listed is not None
        codes = re.findall(r"'([a-z_]+)'", listed.group(1))
        assert codes and {f"{prefix}.{c}" for c in codes} <= zh


def test_the_app_loads_nothing_from_another_host() -> None:
    files = [
        STATIC / "index.html",
        STATIC / "app.css",
        STATIC / "sw.js",
        STATIC / "manifest.webmanifest",
        *APP.glob("*.js"),
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=[\"']https?://", text), path
        assert not re.search(r"\bimport\b[^;]*['\"]https?://", text), path
        assert "@import" not in text and "fonts.googleapis" not in text, path
