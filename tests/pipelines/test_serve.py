"""``credit-engine serve`` as deployed: a real uvicorn with several worker processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx

from credit_engine.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_worker_writes_json_access_logs(settings: Settings) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        for _ in range(20):  # fresh connections, spread over both workers
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    served = [line for line in lines if line.get("message") == "request" and line.get("path") == "/healthz"]
    assert len(served) >= 20 and all(line["status"] == 200 and line["route"] == "/healthz" for line in served)
