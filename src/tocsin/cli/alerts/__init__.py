"""``tocsin alerts``: list, show, acknowledge, resolve, cancel, raise; CAP; silences; duty
setup; alert rules. One module per concept, as in :mod:`tocsin.alerting`; each registers
its commands on :data:`alerts_app` when imported (in the order ``--help`` lists them)."""

from __future__ import annotations

from tocsin.cli.alerts import duty, lifecycle, rules, silences
from tocsin.cli.alerts.app import alerts_app

__all__ = ["alerts_app", "duty", "lifecycle", "rules", "silences"]
