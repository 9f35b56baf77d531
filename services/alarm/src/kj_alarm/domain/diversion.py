"""非警务警情分流: non-police calls go to the 12345 government hotline, not to a patrol unit."""

from kj_schemas.enums import NON_POLICE_CATEGORIES, AlarmCategory

HOTLINE = "12345"


def is_diverted(category: AlarmCategory) -> bool:
    return category in NON_POLICE_CATEGORIES
