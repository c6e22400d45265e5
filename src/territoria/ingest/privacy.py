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
