"""``tocsin serve`` (the web application) and ``tocsin audit verify`` (the hash chain)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

audit_app = typer.Typer(
    no_args_is_help=True, help="The audit log: check its hash chain, write signed checkpoints."
)


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (set TOCSIN_SECRET_KEY when > 1)."
    ),
    worker: bool = typer.Option(
        False,
        "--worker",
        help="Also run the worker (detection of new data, alerts, escalation, notifications) "
        "in this process, as `tocsin worker` would.",
    ),
    detect_every: float = typer.Option(
        1.0, "--detect-every", min=0.01, help="With --worker: minutes between detection runs."
    ),
) -> None:
    """Serve the web application and the JSON API on an existing database.

    Without --worker nothing turns uploaded data into detections and alerts: run
    `tocsin worker --detect-every 1` beside it, or serve with --worker."""
    from tocsin.store import current_revision, head_revision

    if current_revision() != head_revision():
        raise typer.BadParameter(
            "the database is not at the newest schema; run `tocsin db upgrade` first",
            param_hint="TOCSIN_DATABASE_URL",
        )
    serve(host, port, workers, detect_every=detect_every if worker else None)


def use_public_url(host: str, port: int) -> str:
    """The base URL of links in notifications and CAP messages: ``TOCSIN_PUBLIC_URL`` when
    set, else the address served here (set for this process, so that it follows
    ``--port``)."""
    import os

    from tocsin.alerting.settings import get_alerting_settings

    if not os.environ.get("TOCSIN_PUBLIC_URL"):
        shown = "localhost" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        os.environ["TOCSIN_PUBLIC_URL"] = f"http://{shown}:{port}"
        get_alerting_settings.cache_clear()
    return get_alerting_settings().public_url


def serve(host: str, port: int, workers: int = 1, detect_every: float | None = None) -> None:
    """Run uvicorn with the application on ``host:port`` until interrupted; with
    ``detect_every`` (minutes) the worker runs in a thread beside it.

    uvicorn's own handling of ``X-Forwarded-For`` is off (by default it believes any
    client connecting from 127.0.0.1): the application believes only the proxies of
    ``TOCSIN_TRUSTED_PROXIES``. Its access log goes to standard error.
    """
    import datetime as dt
    import os
    import secrets

    typer.echo(f"tocsin is serving on http://{host}:{port}/ (API documentation: /docs)")
    typer.echo(
        f"Links in notifications and CAP messages point at {use_public_url(host, port)} "
        "(set TOCSIN_PUBLIC_URL to the address people reach, for the workers too)"
    )
    metrics_dir = None
    if workers > 1:
        # Every worker must sign CSRF tokens with the same key.
        os.environ.setdefault("TOCSIN_SECRET_KEY", secrets.token_urlsafe(32))
        # ... and count its requests where /metrics of any of them sums all
        # (prometheus-client's multiprocess mode; tocsin.web.metrics).
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            import tempfile

            metrics_dir = tempfile.mkdtemp(prefix="tocsin-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    halt_worker = None
    if detect_every is not None:
        from tocsin.store import get_engine
        from tocsin.worker import start_in_thread

        halt_worker = start_in_thread(get_engine(), detect_every=dt.timedelta(minutes=detect_every))
        typer.echo(
            f"The worker runs beside the server: detection of new data every "
            f"{detect_every:g} min, alerts, escalation and notifications"
        )
    else:
        typer.echo(
            "No worker: uploaded data are not detected on until `tocsin worker` runs "
            "(or serve with --worker)"
        )
    try:
        _run_uvicorn(host, port, workers)
    finally:
        if halt_worker is not None:
            halt_worker()
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "tocsin.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        log_config=log_config(),
    )


def log_config() -> dict:
    """uvicorn's logging configuration plus the ``tocsin.access`` logger on stderr."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["tocsin_access"] = {"format": "%(asctime)s %(message)s"}
    config["handlers"]["tocsin_access"] = {
        "class": "logging.StreamHandler",
        "formatter": "tocsin_access",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["tocsin.access"] = {
        "handlers": ["tocsin_access"],
        "level": "INFO",
        "propagate": False,
    }
    return config


@audit_app.command("verify")
def verify_command(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint file (`tocsin audit checkpoint`) the log must still "
            "contain; repeat for several. Needs TOCSIN_AUDIT_KEY.",
        ),
    ] = None,
) -> None:
    """Recompute the audit log's hash chain and compare it with its checkpoints; exit 1
    if an entry was edited or deleted, or the log was truncated or wiped."""
    from tocsin.audit import verify
    from tocsin.audit.chain import snapshot_session
    from tocsin.audit.checkpoint import configured_key, read_checkpoint
    from tocsin.store import get_engine

    anchors = []
    if checkpoint:
        key = configured_key()
        anchors = [read_checkpoint(path, key) for path in checkpoint]
    with snapshot_session(get_engine()) as session, session.begin():
        report = verify(session, checkpoints=anchors)
    if report.intact:
        against = f", and matches {len(anchors)} checkpoint file(s)" if anchors else ""
        typer.echo(f"audit log intact: {report.checked} entries, hash chain verified{against}")
        return
    for problem in report.problems:
        typer.echo(f"audit log: {problem}", err=True)
    typer.echo(f"audit log NOT intact ({report.checked} entries checked)", err=True)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint_command(
    file: Annotated[
        Path,
        typer.Argument(help="Where to write it (keep a copy away from the database server)."),
    ],
) -> None:
    """Write the chain's head to FILE, signed with TOCSIN_AUDIT_KEY (HMAC-SHA256), after
    verifying the log (a log that is not intact is never signed: exit 1)."""
    from tocsin.audit import verify
    from tocsin.audit.chain import snapshot_session
    from tocsin.audit.checkpoint import configured_key, take_checkpoint, write_checkpoint
    from tocsin.store import get_engine

    key = configured_key()
    with snapshot_session(get_engine()) as session, session.begin():
        anchor = take_checkpoint(session)
        report = verify(session)
    if not report.intact:  # never sign a log that was already tampered with
        for problem in report.problems:
            typer.echo(f"audit log: {problem}", err=True)
        typer.echo(f"audit log NOT intact: no checkpoint written to {file}", err=True)
        raise typer.Exit(1)
    write_checkpoint(file, anchor, key)
    typer.echo(
        f"{file}: checkpoint of the audit log at {anchor.entry_count} entries (last entry "
        f"{anchor.last_id}, hash {anchor.last_hash[:16]}...); check it later with "
        f"`tocsin audit verify --checkpoint {file}`"
    )
