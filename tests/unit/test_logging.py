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
