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

from bench.e2e_stack import _scrape, scrape_figures


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps a connection open for the next request, as uvicorn
    served: ClassVar[list[str]] = []
    ports: ClassVar[list[int]] = []  # the client's port of each request: its connection

    def do_GET(self) -> None:
        self.served.append(self.path)
        self.ports.append(self.client_address[1])
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
    _Pages.served, _Pages.ports = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _scraped(urls: list[str], reads: int) -> dict:
    """Runs the scraper until the server has answered `reads` requests; its report."""
    stop, report = threading.Event(), queue.Queue()  # as the process's Event and Queue
    scraping = threading.Thread(target=_scrape, args=(urls, stop, report, 0.05))
    scraping.start()
    try:
        give_up = time.monotonic() + 10
        while len(_Pages.served) < reads:
            assert time.monotonic() < give_up, f"only {_Pages.served} read in 10 s"
            time.sleep(0.02)
    finally:
        stop.set()
        scraping.join(timeout=10)
    return report.get(timeout=5)


def test_every_target_is_read_each_interval_until_stopped_and_failures_are_counted(
    server: str,
) -> None:
    result = _scraped([f"{server}/metrics", f"{server}/down"], 6)  # three intervals' reads
    served = list(_Pages.served)
    assert served.count("/metrics") >= 3 and served.count("/down") >= 3
    # each target in turn
    assert served[:4] == ["/metrics", "/down", "/metrics", "/down"]
    reads = result["reads"]
    # each read that answered, with its start on the wall clock, to set beside the calls'
    # stamps (`--stamps`)
    assert [url for url, _, _ in reads] == [f"{server}/metrics"] * served.count("/metrics")
    starts = [at for _, at, _ in reads]
    assert starts == sorted(starts) and time.time() - 10 < starts[0] <= time.time()
    assert all(ms >= 0 for _, _, ms in reads)
    figures = scrape_figures(result, {f"{server}/metrics": "alarm"}, "e2e")
    assert figures["e2e.metrics_scrapes"] == served.count("/metrics")
    assert figures["e2e.metrics_scrapes_failed"] == served.count("/down")
    # the longest read per target that answered: the one whose page an engineer looks at
    longest = round(max(ms for _, _, ms in reads), 1)
    assert figures["e2e.metrics_scrape_max_ms"] == figures["e2e.metrics_scrape_max_ms.alarm"]
    assert figures["e2e.metrics_scrape_max_ms.alarm"] == longest


def test_the_scrapes_keep_their_connection_as_prometheus_does(server: str) -> None:
    """A connection (and a client) made for each scrape timed the scraper's own set-up: 120 to
    370 ms on the busy machine, reported as the page's time."""
    result = _scraped([f"{server}/metrics"], 4)
    assert len(result["reads"]) >= 4
    assert len(set(_Pages.ports)) == 1, f"{len(set(_Pages.ports))} connections for 4 reads"
