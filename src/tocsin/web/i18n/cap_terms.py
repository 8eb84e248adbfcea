"""What the codes of a CAP message mean, in the reader's language: the values of
``urgency``, ``severity``, ``certainty``, ``msgType``, ``status`` and ``responseType``
with the definitions of OASIS CAP 1.2 (section 3.2.1 and 3.2.2), for the page that
shows one CAP message to people (:mod:`tocsin.web.pages.public`)."""

from __future__ import annotations

from tocsin.catalogs import N_
from tocsin.web.i18n import gettext

#: (element, code) -> the definition CAP 1.2 gives of the code.
MEANINGS: dict[tuple[str, str], str] = {
    ("urgency", "Immediate"): N_("Responsive action should be taken immediately"),
    ("urgency", "Expected"): N_("Responsive action should be taken soon (within the next hour)"),
    ("urgency", "Future"): N_("Responsive action should be taken in the near future"),
    ("urgency", "Past"): N_("Responsive action is no longer required"),
    ("urgency", "Unknown"): N_("Urgency not known"),
    ("severity", "Extreme"): N_("Extraordinary threat to life or property"),
    ("severity", "Severe"): N_("Significant threat to life or property"),
    ("severity", "Moderate"): N_("Possible threat to life or property"),
    ("severity", "Minor"): N_("Minimal to no known threat to life or property"),
    ("severity", "Unknown"): N_("Severity unknown"),
    ("certainty", "Observed"): N_("Determined to have occurred or to be ongoing"),
    ("certainty", "Likely"): N_("Likely (probability over about 50 %)"),
    ("certainty", "Possible"): N_("Possible but not likely (probability of about 50 % or less)"),
    ("certainty", "Unlikely"): N_("Not expected to occur (probability near 0)"),
    ("certainty", "Unknown"): N_("Certainty unknown"),
    ("msgType", "Alert"): N_("Initial information requiring attention"),
    ("msgType", "Update"): N_("Updates and supersedes the earlier message(s) referenced"),
    ("msgType", "Cancel"): N_("Cancels the earlier message(s) referenced"),
    ("msgType", "Ack"): N_("Acknowledges receipt and acceptance of the message(s) referenced"),
    ("msgType", "Error"): N_("Indicates rejection of the message(s) referenced"),
    ("status", "Actual"): N_("Actionable by all targeted recipients"),
    ("status", "Exercise"): N_("An exercise: only for the exercise's participants"),
    ("status", "System"): N_("For messages that support alert network internal functions"),
    ("status", "Test"): N_("Technical testing only: all recipients disregard"),
    ("status", "Draft"): N_("A preliminary template or draft, not actionable"),
    ("responseType", "Shelter"): N_("Take shelter in place or per instruction"),
    ("responseType", "Evacuate"): N_("Relocate as instructed in the instruction"),
    ("responseType", "Prepare"): N_("Make preparations per the instruction"),
    ("responseType", "Execute"): N_("Execute a pre-planned activity identified in instruction"),
    ("responseType", "Avoid"): N_("Avoid the subject event as per the instruction"),
    ("responseType", "Monitor"): N_("Attend to information sources as described in instruction"),
    ("responseType", "Assess"): N_("Evaluate the information in this message"),
    ("responseType", "AllClear"): N_("The subject event no longer poses a threat or concern"),
    ("responseType", "None"): N_("No action recommended"),
}


#: The values of CAP ``severity`` as the public page names them (``_(value)``).
SEVERITY_NAMES = (N_("Extreme"), N_("Severe"), N_("Moderate"), N_("Minor"), N_("Unknown"))


def cap_meaning(code: str, element: str) -> str:
    """The meaning of ``code`` of CAP element ``element`` in the current locale (empty
    for a code CAP 1.2 does not define)."""
    meaning = MEANINGS.get((element, code))
    return gettext(meaning) if meaning else ""
