"""Privacy at ingest: pseudonymise codes, drop direct identifiers, set free text aside.

Policy (decided here, applied to every survey file):

============================  ===========================================================
field                         what happens
============================  ===========================================================
``participant_code``,         pseudonymised: ``p_`` + the first 16 hex characters of
``respondent_code`` and any   HMAC-SHA256(workspace key, value). The same person gets the
personal field whose name     same pseudonym in every file of the workspace, so panels and
ends in ``_code`` / ``_id``   votes can still be linked; without the key (``.secret``,
                              never published) the code cannot be recovered.
other personal fields         dropped: never stored (names, phones, addresses...).
(``territoria::personal``)
free text                     kept only in ``<table>__freetext`` (``_uuid`` + the text
(``territoria::free_text``)   columns), a table no published output reads; personal free
                              text (e.g. ``comments``) goes there too, not to the main table.
============================  ===========================================================

Examples
--------
>>> pseudonymise("R-0001", b"k" * 32)
'p_...'
>>> pseudonymise("R-0001", b"k" * 32) == pseudonymise("R-0001", b"k" * 32)
True
>>> policy_for("respondent_code", personal=False, free_text=False)
'pseudonymise'
>>> policy_for("respondent_name", personal=True, free_text=False)
'drop'
>>> policy_for("comments", personal=True, free_text=True)
'freetext'
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: Field name -> policy, whatever the form marks. Values: pseudonymise | drop | freetext | keep.
POLICY: dict[str, str] = {
    "participant_code": "pseudonymise",
    "respondent_code": "pseudonymise",
    "respondent_name": "drop",
    "facilitator_name": "drop",
    "author_name": "drop",
    "reporter_name": "drop",
    "phone": "drop",
    "facilitator_phone": "drop",
    "address": "drop",
}
PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX = 16
_CODE_LIKE = re.compile(r"(_code|_id|^code|^id)$")


def policy_for(name: str, *, personal: bool, free_text: bool) -> str:
    """What ingest does with a field: ``pseudonymise``, ``drop``, ``freetext`` or ``keep``."""
    if name in POLICY:
        return POLICY[name]
    if free_text:
        return "freetext"
    if personal:
        return "pseudonymise" if _CODE_LIKE.search(name) else "drop"
    return "keep"


def pseudonymise(value, key: bytes) -> str | None:
    """Keyed pseudonym of a value (None stays None); surrounding spaces are ignored."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


# ---------------------------------------------------------------------------------------------
# personal data typed in free text
# ---------------------------------------------------------------------------------------------
#: Replacement marks (kept in Spanish: the text they stand in is Spanish).
REDACTED = {"phone": "[teléfono]", "email": "[correo]", "address": "[dirección]"}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Mexican numbers: +52 / 52 / 044 / 045 / 01 prefixes, optional mobile 1, 10 digits grouped
# 2-4-4, 3-3-4, 2-2-2-2-2, in parentheses or not; 8-digit local numbers with a separator.
_SEP = r"[\s.\-]?"
_PHONE = re.compile(
    r"(?<![\w/])(?:(?:\+|00)?52" + _SEP + r"(?:1" + _SEP + r")?|0[14]4" + _SEP + r"|01"
    + _SEP + r")?(?:\(?\d{2,3}\)?" + _SEP + r"\d{3,4}" + _SEP + r"\d{4}"
    + r"|\d{2}" + _SEP + r"\d{2}" + _SEP + r"\d{2}" + _SEP + r"\d{2}" + _SEP + r"\d{2}"
    + r"|\d{4}[\s.\-]\d{4})(?![\w/])")
_STREET_KW = (r"calle|c\.|avenida|av\.?|avda\.?|calzada|calz\.?|cerrada|cda\.?|privada|priv\.?|"
              r"andador|and\.|callej[oó]n|cjón\.?|prolongaci[oó]n|prol\.?|boulevard|blvd\.?|"
              r"retorno|ret\.?|eje|camino|circuito|cto\.?|paseo|pasaje|cuchilla")
_ADDRESS = re.compile(
    r"\b(?:" + _STREET_KW + r")\s+(?:[\wÁÉÍÓÚÑáéíóúñü.'-]+\s+){0,6}?"
    r"(?:n[uú]m(?:ero)?\.?\s*|no\.?\s*|#\s*)?\d+[A-Za-z]?"
    r"(?:\s*,?\s*(?:n[uú]m(?:ero)?\.?|no\.|#)\s*\d+[A-Za-z]?)?"
    r"(?:\s*(?:int(?:erior)?\.?|depto\.?)\s*\w+)?"
    r"|\b(?:mz|mza|manzana)\.?\s*\w+\s*,?\s*(?:lt|lote)\.?\s*\w+"
    r"|(?:n[uú]m(?:ero)?\.|#)\s*\d+[A-Za-z]?\b", re.IGNORECASE)


def redact(text):
    """Replace phone numbers, e-mails and street addresses typed in free text by marks.

    Parameters
    ----------
    text : str or None

    Returns
    -------
    str or None
        The text with ``[teléfono]``, ``[correo]`` and ``[dirección]`` where personal data
        were; anything else untouched.

    Examples
    --------
    >>> redact("Llámenme al 55 1234 5678 o al (55) 8765-4321, vivo en Calle Morelos 25")
    'Llámenme al [teléfono] o al [teléfono], vivo en [dirección]'
    >>> redact("correo: vecina.rosa@gmail.com; Mz 12 Lt 4")
    'correo: [correo]; [dirección]'
    >>> redact("Faltan 3 luminarias en el parque desde 2023")
    'Faltan 3 luminarias en el parque desde 2023'
    """
    if text is None:
        return None
    out = _EMAIL.sub(REDACTED["email"], str(text))
    out = _ADDRESS.sub(REDACTED["address"], out)
    return _PHONE.sub(REDACTED["phone"], out)
