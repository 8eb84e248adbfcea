"""``tocsin serve`` (the web application) and ``tocsin audit verify`` (the hash chain)."""

from __future__ import annotations

import typer

from tocsin.cli import app

audit_app = typer.Typer(no_args_is_help=True, help="The audit log: check its hash chain.")
app.add_typer(audit_app, name="audit")


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
) -> None:
    """Serve the web application and the JSON API on an existing database."""
    from tocsin.store import current_revision, head_revision

    if current_revision() != head_revision():
        raise typer.BadParameter(
            "the database is not at the newest schema; run `tocsin db upgrade` first",
            param_hint="TOCSIN_DATABASE_URL",
        )
    serve(host, port)


def serve(host: str, port: int) -> None:
    """Run uvicorn with the application on ``host:port`` until interrupted."""
    import uvicorn

    from tocsin.web.app import create_app

    typer.echo(f"tocsin is serving on http://{host}:{port}/ (API documentation: /docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)


@audit_app.command("verify")
def verify_command() -> None:
    """Recompute the audit log's hash chain; exit 1 if an entry was edited or deleted."""
    from sqlalchemy.orm import Session

    from tocsin.audit import verify
    from tocsin.store import get_engine

    with Session(get_engine()) as session:
        report = verify(session)
    if report.intact:
        typer.echo(f"audit log intact: {report.checked} entries, hash chain verified")
        return
    for problem in report.problems:
        typer.echo(f"audit log: {problem}", err=True)
    typer.echo(f"audit log NOT intact ({report.checked} entries checked)", err=True)
    raise typer.Exit(1)
