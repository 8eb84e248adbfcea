"""XML signatures of imported CAP messages (CAP 1.2, section 3.3.4.1; W3C XML-Signature
Syntax and Processing), verified with ``signxml``.

A signed message is never taken silently: the import reports, and stores with the
message, one of

* ``unsigned``;
* ``signed; not verified: no trusted certificates are configured ...``;
* ``signed; verified with the trusted certificate CN=...``;
* ``signed; NOT verified: <why>`` (the signature does not match any trusted
  certificate, or it is malformed).

Trusted certificates are the PEM certificates in ``TOCSIN_CAP_TRUSTED_CERTIFICATES``
(the certificates of the agencies whose signatures an operator has decided to trust).
A verified signature is reported; it does not change what the message does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lxml import etree

from tocsin.alerting.cap.message import XMLDSIG_NS
from tocsin.errors import UserError

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@lru_cache(maxsize=4)
def trusted_certificates(path: str) -> tuple[str, ...]:
    """The PEM certificates of a file (read once per process)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(
            f"TOCSIN_CAP_TRUSTED_CERTIFICATES: cannot read {path}: {exc.strerror or exc}"
        ) from None
    found = tuple(block.decode("ascii") for block in _PEM.findall(data))
    if not found:
        raise UserError(f"TOCSIN_CAP_TRUSTED_CERTIFICATES: {path} holds no PEM certificate")
    return found


def _subject(pem: str) -> str:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode("ascii")).subject.rfc4514_string()


def report(alert: etree._Element, trusted_path: str) -> str:
    """What the XML signature of ``alert`` (a CAP ``alert`` element) says."""
    if alert.find(f"{{{XMLDSIG_NS}}}Signature") is None:
        return "unsigned"
    if not trusted_path:
        return (
            "signed; not verified: no trusted certificates are configured "
            "(TOCSIN_CAP_TRUSTED_CERTIFICATES)"
        )
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
    from signxml.exceptions import InvalidInput, InvalidSignature

    # Agencies still sign with RSA-SHA1 (CAP-CP, IPAWS): every algorithm is accepted,
    # and the report names the certificate, so that the operator judges it.
    config = SignatureConfiguration(
        signature_methods=frozenset(SignatureMethod),
        digest_algorithms=frozenset(DigestAlgorithm),
    )
    document = etree.tostring(alert)
    reasons = []
    for certificate in trusted_certificates(trusted_path):
        try:
            XMLVerifier().verify(document, x509_cert=certificate, expect_config=config)
        except (InvalidInput, InvalidSignature, ValueError) as exc:
            reasons.append(str(exc).strip() or type(exc).__name__)
            continue
        return f"signed; verified with the trusted certificate {_subject(certificate)}"
    why = "; ".join(dict.fromkeys(reasons)) or "no certificate matched"
    return f"signed; NOT verified: {why}"
