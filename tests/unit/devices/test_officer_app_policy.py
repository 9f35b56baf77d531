"""The officer app's content policy names exactly the hosts the settings give it: its own, the
bureau's tile server when there is one, and notify's socket."""

from kj_devices.entrypoints.officer_app import content_policy
from kj_devices.settings import DevicesSettings


def directives(policy: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in policy.split("; ")}


def test_a_bureaus_tiles_and_notifys_socket_are_the_only_other_hosts() -> None:
    settings = DevicesSettings(
        app_tile_url="https://{s}.tiles.gaj.example.cn/{z}/{x}/{y}.png",
        notify_ws_url="wss://terminals.kj.example.cn/v1/terminals/ws",
    )
    policy = directives(content_policy(settings))
    assert policy["img-src"] == "'self' data: https://tiles.gaj.example.cn"
    assert policy["connect-src"] == "'self' wss://terminals.kj.example.cn"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


def test_a_socket_on_the_apps_own_host_needs_no_other_origin() -> None:
    policy = directives(content_policy(DevicesSettings(notify_ws_url="/v1/terminals/ws")))
    assert policy["img-src"] == "'self' data:"
    assert policy["connect-src"] == "'self'"
