"""Wires every router into the application."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    from tocsin.web import api, docs, health, metrics, pages

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(docs.router)
    app.include_router(api.public_router())
    app.include_router(api.router())
    pages.install(app)
