"""What the demo's duty desks receive in the first 3 hours (issue 9): e-mails per desk
and the minute of the first one.

    .venv/bin/python benchmarks/demo_notifications.py [--db /tmp/demo-notify.db]

Builds the demo (``tocsin demo``'s database), then runs a ``Worker`` on a controllable
clock from the time the alerts opened, one tick a minute for 180 minutes, delivering
e-mail to a local aiosmtpd server. Prints the counts; nothing is timed.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import text

from tocsin.alerting.clock import ManualClock
from tocsin.alerting.settings import AlertingSettings
from tocsin.demo.site import build
from tocsin.store import make_engine
from tocsin.worker import Worker


class Inbox:
    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.recipients += envelope.rcpt_tos
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/demo-notify.db"))
    parser.add_argument("--port", type=int, default=8825)
    args = parser.parse_args()
    site = build(args.db, log=lambda *_: None)
    engine = make_engine(site.url)
    with engine.connect() as conn:
        opened = conn.execute(text("SELECT min(opened_at) FROM alert")).scalar()
    start = dt.datetime.fromisoformat(str(opened)).replace(tzinfo=dt.UTC)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=args.port)
    controller.start()
    try:
        settings = AlertingSettings(smtp_host="127.0.0.1", smtp_port=args.port)
        clock = ManualClock(start)
        worker = Worker(engine, clock=clock, settings=settings, name="measure")
        first = None
        for minute in range(181):
            worker.tick()
            if inbox.recipients and first is None:
                first = minute
            clock.advance(60)
        worker.close()
    finally:
        controller.stop()
    print(f"alerts: {site.alerts}; first e-mail after {first} minutes")
    print(f"e-mails per desk in 3 hours: {dict(collections.Counter(inbox.recipients))}")


if __name__ == "__main__":
    main()
