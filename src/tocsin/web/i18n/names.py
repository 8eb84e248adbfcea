"""Names people read for the codes the data holds: detection methods, and the hazard of
an incident or a plan.

The registry (:mod:`tocsin.detect.registry`) names methods in snake_case for files and
the API (``farrington_flexible``); pages show these names, translated. A method without
an entry shows its code; ``tests/web/test_method_names.py`` checks that every
registered method has one.
"""

from __future__ import annotations

from tocsin.catalogs import N_
from tocsin.web.i18n import gettext

#: Display names of the registry's methods (R ``surveillance`` and ESSENCE usage).
METHOD_NAMES: dict[str, str] = {
    "bayes": N_("Bayes"),
    "cdc": N_("CDC historical limits"),
    "cusum": N_("CUSUM"),
    "ears_c1": N_("EARS C1"),
    "ears_c2": N_("EARS C2"),
    "ears_c3": N_("EARS C3"),
    "essence_ewma": N_("ESSENCE EWMA"),
    "essence_nbinom": N_("ESSENCE negative binomial"),
    "essence_regression": N_("ESSENCE regression"),
    "essence_serfling": N_("ESSENCE Serfling"),
    "essence_switch": N_("ESSENCE regression/EWMA switch"),
    "farrington": N_("Farrington"),
    "farrington_flexible": N_("Farrington (flexible)"),
    "glr_negbin": N_("GLR (negative binomial)"),
    "glr_poisson": N_("GLR (Poisson)"),
    "ifpa": N_("Food price anomalies (FAO IFPA)"),
    "noufaily_two_week": N_("Noufaily, one and two weeks"),
    "outbreak_p": N_("OutbreakP"),
    "recommended": N_("Recommended (Noufaily, one and two weeks)"),
    "rki": N_("RKI"),
    "seasonal_z": N_("Seasonal z-score"),
    "threshold": N_("Fixed thresholds"),
}


def method_name(code: str) -> str:
    """The name of detection method ``code`` in the current locale (its code if none)."""
    name = METHOD_NAMES.get(code)
    return gettext(name) if name else code


#: Actions of an alert's timeline (``alert_transition.action``) that no page names
#: elsewhere; the others (acknowledge, resolve, ...) are in the catalogs already.
TIMELINE_ACTIONS = (N_("auto-resolve"), N_("renew"), N_("update"), N_("open"))


#: Kinds of event an incident or a plan may be about besides an indicator or a domain
#: (:data:`tocsin.response.schemas.EVENT_KINDS`).
EVENT_KIND_NAMES: dict[str, str] = {
    "natural_disaster": N_("Natural disaster"),
    "accident": N_("Accident"),
    "environmental_emergency": N_("Environmental emergency"),
    "public_health_emergency": N_("Public-health emergency"),
    "supply_disruption": N_("Supply disruption"),
}


def hazard_name(code: str, indicators: dict[str, tuple[str, str | None]], locale: str) -> str:
    """The name of a hazard as incidents and plans store it: a kind of event, an
    indicator (``indicators``: code -> (name, Chinese name)) or an indicator domain
    (translated as the catalogs name domains); the code itself if it is none of these."""
    from tocsin.catalogs import gettext_in
    from tocsin.monitoring.models import DOMAINS

    if code in EVENT_KIND_NAMES:
        return gettext_in(locale, EVENT_KIND_NAMES[code])
    if code in indicators:
        name, name_zh = indicators[code]
        return name_zh if locale == "zh_CN" and name_zh else name
    if code in DOMAINS:
        return gettext_in(locale, code)
    return code
