"""The refusals of services (written in English for the CLI, the JSON API and logs:
:class:`tocsin.errors.UserError` and its kinds) in the reader's language, for the pages:
the error page, the message a form shows, the administration page's notices.

As the ingest row reasons (:mod:`tocsin.web.i18n.reasons`), each known message is
matched by a pattern whose named groups fill a catalog message; the kind of object and
the capability named are translated words. A message no pattern knows is shown as
written (services keep their English for the API, which machines read).
"""

from __future__ import annotations

import re

from tocsin.catalogs import N_
from tocsin.web.i18n import gettext
from tocsin.web.i18n.reasons import translate_with

#: The objects a refusal names, as "kind name" (the name as the service wrote it).
KINDS: dict[str, str] = {
    "jurisdiction": N_("jurisdiction %(name)s"),
    "alert": N_("alert %(name)s"),
    "incident": N_("incident %(name)s"),
    "series": N_("series %(name)s"),
    "user": N_("user %(name)s"),
    "indicator": N_("indicator %(name)s"),
    "silence": N_("silence %(name)s"),
    "task": N_("task %(name)s"),
    "duty contact": N_("duty contact %(name)s"),
    "API token": N_("API token %(name)s"),
    "drill": N_("drill %(name)s"),
}
#: The capabilities of roles (:class:`tocsin.accounts.access.Capability`).
CAPABILITIES: dict[str, str] = {
    "read": N_("read"),
    "ingest": N_("ingest"),
    "configure": N_("configure"),
    "respond": N_("respond"),
    "administer": N_("administer"),
}
_KIND = "(?P<kind>" + "|".join(re.escape(k) for k in KINDS) + ")"


def _fill(values: dict[str, str]) -> dict[str, str]:
    """The object (``kind`` and ``name``) and the capability, translated."""
    kind = values.pop("kind", None)
    if kind is not None:
        values["what"] = gettext(KINDS[kind]) % {"name": values.pop("name")}
    if "capability" in values and values["capability"] in CAPABILITIES:
        values["capability"] = gettext(CAPABILITIES[values["capability"]])
    return values


#: (pattern of the English message, catalog message with the pattern's groups).
MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), message)
    for pattern, message in (
        (
            r"user (?P<name>'[^']*'|\S+) does not exist or is not one you administer",
            N_("user %(name)s does not exist or is not one you administer"),
        ),
        (_KIND + r" (?P<name>.+?) does not exist", N_("%(what)s does not exist")),
        (r"no " + _KIND + r" with (?:id|code) (?P<name>.+)", N_("%(what)s does not exist")),
        (
            r"your roles do not allow '(?P<capability>\w+)' on " + _KIND + r" (?P<name>.+?); "
            r"ask an administrator of that jurisdiction for a role that does",
            N_(
                "your roles do not allow “%(capability)s” on %(what)s; ask an "
                "administrator of that jurisdiction for a role that does"
            ),
        ),
        (
            r"matcher (?P<text>'.*') must read label=\"value\" \(or !=, =~, !~\), e\.g\. .*",
            N_(
                "matcher %(text)s must read label, operator and value, as the examples "
                "below the field"
            ),
        ),
        (
            r"matcher (?P<text>'.*'): unknown label (?P<label>'[^']*'); .*",
            N_(
                "matcher %(text)s: unknown label %(label)s; a silence matches the labels "
                "listed below the field"
            ),
        ),
        (
            r"matcher (?P<text>'.*'): silences match the labels .*, not (?P<label>'[^']*')",
            N_(
                "matcher %(text)s: unknown label %(label)s; a silence matches the labels "
                "listed below the field"
            ),
        ),
        (
            r"matcher (?P<text>'.*'): (?P<value>'.*') is not a regular expression \((?P<why>.*)\)",
            N_("matcher %(text)s: %(value)s is not a regular expression (%(why)s)"),
        ),
        (
            r"a silence needs at least one matcher .*",
            N_(
                "a silence needs at least one matcher or a jurisdiction: without any it "
                "would mute every notification"
            ),
        ),
        (r"a silence must end after it starts", N_("a silence must end after it starts")),
        (r"a contact needs a name", N_("a contact needs a name")),
        (
            r"contact (?P<name>'.*') needs an e-mail address or a webhook URL",
            N_("contact %(name)s needs an e-mail address or a webhook URL"),
        ),
        (
            r"webhook URL (?P<url>'.*') must start with http:// or https://",
            N_("webhook URL %(url)s must start with http:// or https://"),
        ),
        (
            r"an incident needs a title \(what happened\)",
            N_("an incident needs a title (what happened)"),
        ),
        (
            r"say which hazard the incident is about.*",
            N_("say which hazard the incident is about"),
        ),
        (r"say where: the incident's jurisdiction", N_("say where: the incident's jurisdiction")),
        (r"a comment needs some text", N_("a comment needs some text")),
        (r"a task needs a title", N_("a task needs a title")),
        (
            r"say why the level is declared or changed \(a reason\)",
            N_("say why the level is declared or changed (a reason)"),
        ),
        (
            r"incident (?P<name>\d+) is closed; .*",
            N_("incident %(name)s is closed: it can no longer change"),
        ),
        (r"a hand-raised alert needs a headline", N_("a hand-raised alert needs a headline")),
        (
            r"missing or wrong CSRF token; reload the page and try again",
            N_("the form has expired (missing or wrong CSRF token); reload the page and try again"),
        ),
        (
            r"the audit log is open to administrators of the whole territory",
            N_("the audit log is open to administrators of the whole territory"),
        ),
        (
            r"the notifications are open to administrators",
            N_("the notifications are open to administrators"),
        ),
        (
            r"the detection runs are open to analysts and administrators",
            N_("the detection runs are open to analysts and administrators"),
        ),
        (
            r"cannot dispatch (?P<quantity>\S+) (?P<unit>\S+) of (?P<item>\S+) from depot "
            r"(?P<depot>\S+): only (?P<available>\S+) \S+ available(?P<lots>.*); nothing was moved",
            N_(
                "cannot dispatch %(quantity)s %(unit)s of %(item)s from depot %(depot)s: only "
                "%(available)s %(unit)s available%(lots)s; nothing was moved"
            ),
        ),
        (
            r"say why the request is refused \(reason\)",
            N_("say why the request is refused (reason)"),
        ),
    )
)


def service_message(text: str | None) -> str | None:
    """``text`` (a service's English refusal) in the current locale; unchanged when no
    pattern knows it."""
    if not text:
        return text
    return translate_with(MESSAGES, text, _fill) or text
