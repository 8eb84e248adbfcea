"""Alerting: rules, alerts, grouping, inhibition, silences, escalation, notifications, CAP.

Concepts are named after Prometheus Alertmanager's (grouping, inhibition, silences,
repeat interval) so that an operator who knows Alertmanager feels at home; messages are
published in OASIS CAP 1.2. Modules without a database (``cap``, ``severity``, ``feed``,
``channels``, ``escalation``, ``clock``) hold the pure logic; ``models`` and ``service``
add the store.
"""
