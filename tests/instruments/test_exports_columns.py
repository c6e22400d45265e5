"""Column-wise formatting of the export writers equals the value-by-value reference.

The reference is the original per-cell path: ``DataFrame.to_dict("records")`` then ``_fmt`` of
each value (kept in the module as ``_fmt``), ``deterministic_uuid`` per row and
``_submission_time`` per row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io

import numpy as np
import pandas as pd
import pytest

from territoria.exceptions import DataError
from territoria.instruments import exports as ex
from territoria.instruments.xlsform import Field, default_surveys_dir, load_instrument

TYPES = [None, "text", "integer", "decimal", "select_one", "select_multiple", "geopoint",
         "date", "today", "datetime", "start", "end", "calculate"]


def varied_frame(n: int = 64, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2019-01-01")
    stamps = base + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s") \
        + pd.to_timedelta(rng.integers(0, 10**6, n), unit="us")
    naive = pd.Series(stamps).where(rng.random(n) > 0.2)
    floats = np.array([round(x, int(k)) for x, k in
                       zip(rng.normal(0, 100, n), rng.integers(0, 4, n), strict=True)])
    floats[::7] = np.nan
    floats[3] = -0.0
    floats[4] = np.inf
    floats[5] = 2.0**70
    floats[6] = 1e-300
    mixed = [1, 2.5, True, np.bool_(False), np.int64(7), np.float64(3.0), "x", None, pd.NA,
             pd.NaT, np.nan, ["a", "b"], ("c",), pd.Timestamp("2026-01-01 10:00", tz="UTC"),
             np.datetime64("2026-02-03T04:05:06"), dt.date(2026, 3, 4),
             dt.datetime(2026, 3, 4, 5, 6, 7, 890123), decimal.Decimal("1.50"),
             decimal.Decimal("NaN"), np.float32(0.1), pd.Timedelta("1D"), "2026-01-01",
             np.str_("numpy text"), np.str_("2026-05-06")]
    return pd.DataFrame({
        "ints": rng.integers(-10**12, 10**12, n),
        "small_uints": rng.integers(0, 200, n).astype(np.uint8),
        "bools": rng.random(n) > 0.5,
        "floats": floats,
        "floats32": rng.normal(0, 1, n).astype(np.float32),
        "nullable": pd.array([int(v) if v >= 0 else None for v in
                              np.where(rng.random(n) > 0.3, rng.integers(0, 9, n), -1)],
                             dtype="Int64"),
        "nullable_float": pd.array(rng.normal(0, 1, n), dtype="Float64"),
        "nullable_bool": pd.array(rng.random(n) > 0.5, dtype="boolean"),
        "strs": pd.Series(rng.choice(["a", "b b", "", "ñ"], n)).where(rng.random(n) > 0.2),
        "cats": pd.Categorical(rng.choice(["x", "y"], n)),
        "cat_ints": pd.Categorical(rng.integers(0, 3, n)),
        "naive": naive,
        "naive_s": naive.astype("datetime64[s]"),
        "tz_mx": naive.dt.tz_localize("America/Mexico_City", ambiguous="NaT",
                                      nonexistent="NaT"),
        "tz_ny": naive.dt.tz_localize("UTC").dt.tz_convert("America/New_York"),
        "old_years": pd.Series(np.array(["0900-05-01", "1999-12-31", "NaT"] * (n // 3)
                                       + ["2020-01-01"] * (n % 3), dtype="datetime64[s]")),
        "dates_obj": [d.date() if d is not pd.NaT else None for d in naive],
        "mixed": [mixed[k % len(mixed)] for k in range(n)],
    })


def reference_texts(df: pd.DataFrame, name: str, t):
    f = None if t is None else Field(name=name, type=t)
    return [ex._fmt(f, _get(r, name)) for r in df.to_dict("records")]


def _get(row, key):  # the original writers' cell access
    v = row.get(key)
    return None if ex._is_missing(v) else v


@pytest.mark.parametrize("t", TYPES)
def test_column_texts_equal_value_by_value(t):
    df = varied_frame()
    tab = ex._Table(df)
    for name in df.columns:
        try:
            want = reference_texts(df, name, t)
        except (TypeError, ValueError) as err:
            with pytest.raises(type(err)):
                tab.texts(name, t)
            continue
        assert tab.texts(name, t) == want, (name, t)


def test_values_box_like_to_dict_records():
    df = varied_frame()
    tab = ex._Table(df)
    recs = df.to_dict("records")
    for name in df.columns:
        want = [r[name] for r in recs]
        got = [ex._box(v) for v in tab.values(name)]
        for a, b in zip(got, want, strict=True):
            if ex._is_missing(b) if not isinstance(b, (list, tuple)) else False:
                assert ex._is_missing(a), (name, a, b)
            else:
                assert type(a) is type(b) and (a == b), (name, a, b)


def test_duplicate_columns_last_wins_with_pandas_warning():
    df = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.warns(UserWarning, match="not unique"):
        tab = ex._Table(df)
    assert tab.texts("x") == ["2"] == [ex._fmt(None, df.to_dict("records")[0]["x"])]


def test_uuid_column_equals_deterministic_uuid():
    given = ["", "keep", ""] * 50
    got = ex._uuid_texts(given, "territoria_votes", "2026.1", 7)
    want = [g or ex.deterministic_uuid("territoria_votes", "2026.1", 7, i)
            for i, g in enumerate(given)]
    assert got == want


@pytest.mark.parametrize("col", ["naive", "naive_s", "tz_mx", "tz_ny", "old_years", "mixed",
                                 "strs"])
def test_submission_times_equal_row_by_row(col):
    inst = load_instrument(default_surveys_dir() / "diagnostic.xlsx")  # has an `end` field
    df = varied_frame()
    df = pd.DataFrame({"_submission_time": df[col], "end": df["tz_ny"].iloc[::-1].to_numpy()})
    if col == "mixed":  # values pd.Timestamp cannot read raise in both paths
        df = df[[not isinstance(v, (list, tuple, decimal.Decimal, pd.Timedelta, bool,
                                    np.bool_, dt.date)) or isinstance(v, dt.datetime)
                 for v in df["_submission_time"]]]
    tab = ex._Table(df)
    times = ex._SubmissionTimes(inst, tab)
    recs = df.to_dict("records")
    want = [ex._submission_time(r["_submission_time"], r["end"], i) for i, r in enumerate(recs)]
    assert [times[i] for i in range(len(df))] == want


def test_xlsx_refuses_control_characters_with_location():
    inst = load_instrument(default_surveys_dir() / "tallies.xlsx")
    main = pd.DataFrame({"assembly_code": ["A1", "A\x072"]})
    with pytest.raises(DataError, match=r"row 2, column assembly_code: value contains the "
                                        r"control character '\\x07'"):
        ex.write_kobo_xlsx(inst, main, None, io.BytesIO())


def test_xlsx_cells_follow_openpyxl_rules():
    # formulas, error codes, Excel's 32,767-character limit, xml:space on padded text
    assert ex._cell_tail("=SUM(A1)") == "><f>SUM(A1)</f><v /></c>"
    assert ex._cell_tail("=") == ' t="inlineStr"><is><t>=</t></is></c>'
    assert ex._cell_tail("#N/A") == ' t="e"><v>#N/A</v></c>'
    assert ex._cell_tail(" a<b ") == ' t="inlineStr"><is><t xml:space="preserve"> a&lt;b </t></is></c>'
    assert ex._cell_tail("   ") == ' t="inlineStr"><is><t>   </t></is></c>'
    assert ex._cell_tail("") == ' t="inlineStr" />'
    assert len(ex._cell_tail("x" * 40000)) == len(' t="inlineStr"><is><t></t></is></c>') + 32767
    assert [ex._column_letter(k) for k in (1, 26, 27, 52, 53, 702, 703)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
