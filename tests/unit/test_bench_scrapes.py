"""The e2e bench and the soak read every service's `/metrics` through the run, as the deploy's
Prometheus does every 15 s (decision 0185), and say how many reads failed: a real HTTP server
on loopback, one path that answers and one that does not."""

import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench.e2e_stack import _scrape


class _Pages(BaseHTTPRequestHandler):
    served: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.served.append(self.path)
        if self.path == "/metrics":
            body = b"kj_up 1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(503, "not ready")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Pages.served = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_every_target_is_read_each_interval_until_stopped_and_failures_are_counted(
    server: str,
) -> None:
    stop, report = threading.Event(), queue.Queue()  # as the process's Event and Queue
    scraping = threading.Thread(
        target=_scrape, args=([f"{server}/metrics", f"{server}/down"], stop, report, 0.05)
    )
    scraping.start()
    try:
        give_up = time.monotonic() + 10
        while len(_Pages.served) < 6:  # three intervals' reads
            assert time.monotonic() < give_up, f"only {_Pages.served} read in 10 s"
            time.sleep(0.02)
    finally:
        stop.set()
        scraping.join(timeout=10)
    result = report.get(timeout=5)
    served = list(_Pages.served)
    assert served.count("/metrics") >= 3 and served.count("/down") >= 3
    # each target in turn
    assert served[:4] == ["/metrics", "/down", "/metrics", "/down"]
    assert result["scrapes"] == served.count("/metrics")
    assert result["failed"] == served.count("/down")
    assert len(result["ms"]) == result["scrapes"]
    assert all(ms >= 0 for ms in result["ms"])
