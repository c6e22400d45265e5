"""Survey instruments: XLSForm reading (:mod:`.xlsform`), building from YAML sources
(:mod:`.build`), validation (:mod:`.validate`), codebooks (:mod:`.codebook`) and writers of
KoboToolbox / ODK Central exports (:mod:`.exports`)."""

from territoria.instruments.xlsform import (  # noqa: F401
    Choice,
    Field,
    Instrument,
    default_surveys_dir,
    find_instrument,
    load_instrument,
    load_instruments,
)
