"""schemathesis against the OpenAPI document a live service serves, with the boundary values of
`fuzz_boundaries.py` among the generated requests: no 5xx, and (where asked) no answer that
breaks the published schema.

Its speed (decision 0078): the cost of a case is schemathesis's, not the service's (a request
took 3-4 ms of the ~35 ms a case cost on a loaded machine). Hypothesis's example database, which
schemathesis keeps by default, also keeps a Pareto front of every case's targets and re-sorts
it on each case: a quarter of the run, and nothing to reuse in a fresh CI checkout, so it is
off. One worker: with two, Hypothesis describes its strategies from two threads at once, and
CPython 3.11's `ast.parse` then fails now and then ("AST constructor recursion depth
mismatch", python/cpython#106905), which ends the run with an error."""

import asyncio
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NO_5XX = "not_a_server_error"
CONFORMANCE = ",".join(
    (
        NO_5XX,
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
CASES_PER_API = 1000  # issue 14: at least this many per HTTP API


@dataclass(frozen=True)
class FuzzRun:
    generated: int  # test cases schemathesis generated, every phase
    returncode: int
    output: str
    tally: dict[str, int]  # fuzz_boundaries.py's: requests, boundary, "4xx", "boundary_4xx"...

    def explain(self) -> str:
        return f"{self.tally}\n{self.output[-6000:]}"

    def summary(self) -> str:
        """Cases and seconds per phase, for the log of a passing run (`pytest -s`)."""
        phases = re.findall(r"(Examples|Coverage|Fuzzing|Stateful) \(in ([\d.]+)s\)", self.output)
        timed = ", ".join(f"{name.lower()} {seconds} s" for name, seconds in phases)
        return f"{self.generated} cases ({timed}); {self.tally}"


def examples_for(operations: int) -> int:
    """Examples per operation so that fuzzing alone makes CASES_PER_API for the API (the
    coverage and stateful phases add theirs)."""
    return -(-CASES_PER_API // operations)


async def fuzz(
    base_url: str,
    *,
    headers: dict[str, dict[str, str]],
    known: dict[str, list[str]],
    operations: int,
    cwd: Path,
    checks: str = CONFORMANCE,
    seed: int = 20261123,
    timeout_s: float = 300,
) -> FuzzRun:
    """Runs the CLI against `base_url`'s `/openapi.json`, which must list `operations`
    operations (`examples_for` spreads the cases over them)."""
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    tally_path = cwd / "fuzz-tally.json"
    args = [
        cli,
        "run",
        f"{base_url}/openapi.json",
        "--max-examples",
        str(examples_for(operations)),
        "--checks",
        checks,
        "--seed",
        str(seed),
        "--request-timeout",
        "20",
        "--workers",
        "1",
        "--generation-database",
        "none",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_boundaries",
        "KJ_FUZZ_KNOWN": json.dumps(known),
        "KJ_FUZZ_HEADERS": json.dumps(headers),
        "KJ_FUZZ_TALLY": str(tally_path),
    }
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,  # anything it writes stays out of the checkout
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(timeout_s):
            output, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    listed = re.search(r"Operations:\s+(\d+) selected", text)
    if listed and int(listed.group(1)) != operations:
        raise AssertionError(f"the API lists {listed.group(1)} operations, not {operations}")
    generated = re.search(r"(\d+) generated", text)
    tally = json.loads(tally_path.read_text()) if tally_path.exists() else {}
    return FuzzRun(
        int(generated.group(1)) if generated else 0, process.returncode or 0, text, tally
    )


def assert_no_5xx_with_boundaries(run: FuzzRun) -> None:
    """The checks passed over at least CASES_PER_API cases, a third of the requests carried a
    boundary value, and every answer to one was a 4xx (or a 2xx for the values inside the
    window); no answer at all was a 5xx."""
    assert run.generated >= CASES_PER_API, run.explain()
    assert run.returncode == 0, run.explain()
    assert run.tally.get("5xx", 0) == 0, run.explain()
    assert run.tally.get("boundary", 0) >= CASES_PER_API // 4, run.explain()
    assert run.tally.get("boundary_4xx", 0) >= run.tally["boundary"] // 2, run.explain()
