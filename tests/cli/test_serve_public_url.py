"""``tocsin serve --port``: links in CAP messages and the feed follow the port served
when ``TOCSIN_PUBLIC_URL`` is not set (issue 9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_links_follow_the_port_served(store_url, tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "TOCSIN_PUBLIC_URL"}
    env["TOCSIN_DATABASE_URL"] = store_url
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "tocsin"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        feed = _get(f"http://127.0.0.1:{port}/cap/feed.atom")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert f'href="http://127.0.0.1:{port}/cap/feed.atom"'.encode() in feed
    assert f"point at http://127.0.0.1:{port}" in output
