"""The application factory: FastAPI with the JSON API under ``/api/v1`` and HTML pages.

    >>> from tocsin.web.app import create_app
    >>> app = create_app()            # uses TOCSIN_DATABASE_URL
    >>> # uvicorn.run(app, host="127.0.0.1", port=8000)

Routers are added by the domain modules (``tocsin.web.api``, ``tocsin.web.pages``);
this module wires the pieces every route shares: the database, settings, error
handlers, middleware, static files and templates.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tocsin import __version__
from tocsin.web import openapi, problems
from tocsin.web.access_log import AccessLogMiddleware
from tocsin.web.metrics import RequestMetricsMiddleware
from tocsin.web.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from tocsin.web.settings import WebSettings
from tocsin.web.templating import STATIC_DIR


def create_app(engine: Engine | None = None, settings: WebSettings | None = None) -> FastAPI:
    """A new application bound to ``engine`` (default: ``TOCSIN_DATABASE_URL``)."""
    from sqlalchemy.orm import sessionmaker

    from tocsin.store import get_engine

    settings = settings or WebSettings()
    engine = engine or get_engine()
    app = FastAPI(
        title="tocsin",
        version=__version__,
        summary="Early warning for public hazards: JSON API",
        docs_url=None,  # served by tocsin.web.docs from vendored assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    problems.install(app)
    openapi.install(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    if settings.access_log:
        app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    if settings.trusted_proxy_list():  # outermost: every other part sees the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from tocsin.web import routes

    routes.include(app)
    return app
