"""Callers' phone numbers never reach a log line whole."""

import structlog

from kj_runtime.logging import mask_phone_numbers, mask_phone_numbers_in


def test_mobile_numbers_keep_only_prefix_and_last_four() -> None:
    assert mask_phone_numbers_in("caller 13807391234 says") == "caller 138****1234 says"
    assert mask_phone_numbers_in("+8613807391234") == "+86138****1234"


def test_landlines_keep_only_the_area_code() -> None:
    assert mask_phone_numbers_in("tel 0739-5221234") == "tel 0739****"


def test_timestamps_ids_and_coordinates_are_left_alone() -> None:
    text = "at 2026-11-23T10:02:11.012345Z lat 27.2389 unit SY-P01-M1 offset 18220"
    assert mask_phone_numbers_in(text) == text


def test_processor_masks_nested_values_in_a_log_event() -> None:
    with structlog.testing.capture_logs(processors=[mask_phone_numbers]) as logs:
        structlog.get_logger().info(
            "alarm_received", caller_phone="13807391234", body={"note": "call 13907390000"}
        )
    assert logs[0]["caller_phone"] == "138****1234"
    assert logs[0]["body"] == {"note": "call 139****0000"}


def test_digits_inside_alarm_ids_and_uuids_are_left_alone() -> None:
    """Issue 14: the masker rewrote digits inside alarm ids, so a log line no longer named the
    alarm it was about."""
    for text in (
        "alarm 3f2a9c1e-7b4d-4e8f-9a6b-a13907391234",  # a UUID whose last group ends in 11 digits
        "source_alarm_id SY-13807391234 merged",
        "SY20261123-0739522123",  # a landline's shape after an id's dash
        "HN110_13807391234",
        "path /v1/alarms/13807391234x/unmerge",
    ):
        assert mask_phone_numbers_in(text) == text


def test_numbers_in_chinese_text_and_after_a_colon_are_still_masked() -> None:
    assert (
        mask_phone_numbers_in("报警人电话13807391234，在西湖桥")
        == "报警人电话138****1234，在西湖桥"
    )
    assert mask_phone_numbers_in("tel:0739-5221234") == "tel:0739****"


def test_a_value_under_a_phone_key_is_masked_whatever_its_shape() -> None:
    with structlog.testing.capture_logs(processors=[mask_phone_numbers]) as logs:
        structlog.get_logger().info(
            "callback", caller_phone="+1 555 0100 2233", report={"caller_phone": "12345"}
        )
    assert "0100" not in logs[0]["caller_phone"] and logs[0]["caller_phone"].endswith("2233")
    assert logs[0]["report"] == {"caller_phone": "****"}
