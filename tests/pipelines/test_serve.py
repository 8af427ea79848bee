"""``credit-engine serve`` as deployed: a real uvicorn with several worker processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from credit_engine.settings import Settings
from pipelines.cli import _metrics_shared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``serve`` on a free port, up; ``stderr`` holds its output once it has stopped."""

    def __init__(self, workers: int = 2, **env: str) -> None:
        self.workers, self.env = workers, {**os.environ, **env}

    def __enter__(self) -> Served:
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.cli",
                "serve",
                "--port",
                self.base.rsplit(":", 1)[1],
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the server did not come up")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        _, self.stderr = self.process.communicate(timeout=30)


def _fresh_gets(base: str, path: str, count: int) -> None:
    """One connection each, as from many clients."""
    for _ in range(count):
        assert httpx.get(f"{base}{path}").status_code == 200


def test_every_worker_writes_json_access_logs(settings: Settings) -> None:
    with Served() as served:
        _fresh_gets(served.base, "/healthz", 20)
    lines = [json.loads(line) for line in served.stderr.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("message") == "request" and line.get("path") == "/healthz"]
    assert len(logged) >= 20 and all(line["status"] == 200 and line["route"] == "/healthz" for line in logged)
    assert all(isinstance(line["pid"], int) for line in logged)  # which worker served


def _healthz_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    assert "credit_engine_cases_overdue" in text  # read from the store at the scrape, in any mode
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and 'handler="/healthz"' in line
    )


def test_a_scrape_of_any_worker_counts_the_requests_of_all(settings: Settings, tmp_path: Path) -> None:
    """Two processes counting into one folder, as ``serve --workers N`` makes its workers do (the
    kernel hands a quiet server's connections to one worker, so a test of N workers could not
    say which served): each used to report only its own requests."""
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with Served(workers=1, **shared) as first, Served(workers=1, **shared) as second:
        _fresh_gets(first.base, "/healthz", 7)  # and one each that found them up
        _fresh_gets(second.base, "/healthz", 4)
        assert _healthz_count(first.base) == _healthz_count(second.base) == 13


def test_several_workers_get_a_fresh_metrics_folder_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with _metrics_shared(1):
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with _metrics_shared(2):
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir() and not any(folder.iterdir())
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and not folder.exists()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/srv/metrics")  # a deployment's own
    with _metrics_shared(2):
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == "/srv/metrics"
