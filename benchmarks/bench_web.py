"""Web latency under load: the situation page, a series page and the alert list.

Serves the demo database (``tocsin demo --no-serve`` builds it; this script builds it
when the file is missing) with ``tocsin serve`` (one uvicorn process by default) on a free loopback
port, signs in as the demo administrator (who sees everything: the largest pages), and
drives each page with ApacheBench (``ab``, Debian package ``apache2-utils``): 20
concurrent keep-alive clients, a fixed number of requests after a warm-up. Prints p50,
p95, p99 and throughput per page; the target is p95 < 150 ms.

    .venv/bin/python benchmarks/bench_web.py [--database tocsin-demo.db] [--requests 2000]

Traffic goes to 127.0.0.1 only; every run is bounded by ``--requests`` and ab's
``-s`` timeout, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CONCURRENCY = 20
TARGET_P95_MS = 150.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(base: str) -> str:
    """Sign in as the demo administrator; the ``Cookie`` header value of the session."""
    with httpx.Client(base_url=base) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        nonce = form.cookies["tocsin_csrf"]
        response = client.post(
            "/login",
            data={"username": "admin", "password": "tocsin-demo-admin", "csrf_token": token},
            headers={"Cookie": f"tocsin_csrf={nonce}"},
        )
        match = re.search(r"tocsin_session=([^;]+)", response.headers.get("set-cookie", ""))
        if response.status_code != 303 or not match:
            raise SystemExit(f"login failed: {response.status_code} {response.text[:200]}")
        return f"tocsin_session={match.group(1)}"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        own = int(stat.parent.name) == pid
        if own or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_ab(url: str, cookie: str, requests: int) -> dict[str, float]:
    """p50/p95/p99 (ms) and throughput (requests/s) from one ab run."""
    out = subprocess.run(
        ["ab", "-k", "-q", "-s", "30", "-c", str(CONCURRENCY), "-n", str(requests),
         "-H", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if failed or non_2xx:
        raise SystemExit(f"{url}: {failed} failed, {non_2xx.group(1) if non_2xx else 0} non-2xx")
    pct = {int(p): float(v) for p, v in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M)}
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    return {"p50": pct[50], "p95": pct[95], "p99": pct[99], "rps": rps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, default=Path("tocsin-demo.db"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    if shutil.which("ab") is None:
        raise SystemExit("ab is missing: apt-get install apache2-utils")
    tocsin = str(Path(sys.executable).with_name("tocsin"))
    if not args.database.exists():
        subprocess.run([tocsin, "demo", "--no-serve", "--database", str(args.database)], check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TOCSIN_DATABASE_URL": f"sqlite:///{args.database.resolve()}"}
    server = subprocess.Popen(
        [tocsin, "serve", "--port", str(port), "--workers", str(args.workers)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        cookie = session_cookie(base)
        with httpx.Client(base_url=base, headers={"Cookie": cookie}) as client:
            series = client.get("/api/v1/series?indicator=influenza&jurisdiction=9162").json()
            series_id = series["items"][0]["id"]
            open_alerts = client.get("/api/v1/alerts?active=true&limit=1").json()["total"]
        pages = {
            "situation (/)": "/",
            f"series (/series/{series_id})": f"/series/{series_id}",
            "alert list (/alerts)": "/alerts",
        }
        print(
            f"tocsin web benchmark: {CONCURRENCY} concurrent clients (ab -k), "
            f"{args.requests} requests per page, {open_alerts} open alerts, "
            f"{args.workers} uvicorn worker(s); load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} "
            f"{'CPU ms/req':>10}  p95 < 150 ms"
        )
        for name, path in pages.items():
            run_ab(base + path, cookie, max(200, args.requests // 10))  # warm-up
            cpu = cpu_seconds(server.pid)
            r = run_ab(base + path, cookie, args.requests)
            per_request = (cpu_seconds(server.pid) - cpu) / args.requests * 1000
            ok = "yes" if r["p95"] < TARGET_P95_MS else "NO"
            print(
                f"{name:32} {r['p50']:8.0f} {r['p95']:8.0f} {r['p99']:8.0f} {r['rps']:8.1f} "
                f"{per_request:10.1f}  {ok}"
            )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
