"""The typing file of a tally sheet: what is written on paper, typed in the layout the kit
already ingests.

The file is an ODK Central export (``<name>.csv.zip`` holding ``territoria_tallies.csv``, one
row per voting round, and ``territoria_tallies-tally.csv``, one row per proposal and round,
linked by ``KEY`` / ``PARENT_KEY``). It comes pre-filled with what the printed sheet shows
(territory, round, proposal codes, in the same order); the person typing fills in
``assembly_code``, ``date`` and ``present`` in the first file and the three counts in the
second, then runs ``territoria ingest`` on the zip.

Examples
--------
>>> import io, zipfile, pandas as pd
>>> from territoria.instruments.xlsform import default_surveys_dir, load_instrument
>>> inst = load_instrument(default_surveys_dir() / "tallies.xlsx")
>>> buf = io.BytesIO()
>>> write_tally_zip(inst, "07-003", ["P-07-003-01"], buf, rounds=["assembly"])
>>> z = zipfile.ZipFile(buf)
>>> z.namelist()
['territoria_tallies.csv', 'territoria_tallies-tally.csv']
>>> z.read('territoria_tallies-tally.csv').decode().splitlines()[1].split(",")[:4]
['P-07-003-01', '', '', '']
"""

from __future__ import annotations

import uuid

import pandas as pd

from territoria.instruments.exports import write_odk_zip
from territoria.instruments.xlsform import Instrument


def write_tally_zip(inst: Instrument, territory_id: str, proposal_codes, path, *,
                    rounds=None) -> None:
    """Write the typing file for the tally sheets of ``territory_id`` (one per round)."""
    from territoria.paper.sheets import tally_rounds

    rounds = list(rounds or tally_rounds(inst))
    codes = list(proposal_codes) or [""] * 10
    main = pd.DataFrame({"_uuid": [str(uuid.uuid4()) for _ in rounds],
                         "assembly_code": "", "territory": territory_id, "round": rounds,
                         "date": "", "present": ""})
    tally = pd.DataFrame({
        "_parent_row": [i for i in range(len(rounds)) for _ in codes],
        "proposal_code": codes * len(rounds), "n_agree": "", "n_disagree": "", "n_pass": ""})
    write_odk_zip(inst, main, {"tally": tally}, path)
