"""Offline validation of XLSForms with pyxform plus the kit's rules."""

from __future__ import annotations

import openpyxl
import pytest
from pyxform.xls2xform import convert

from territoria.exceptions import InstrumentError
from territoria.instruments.validate import validate_xlsform
from territoria.instruments.xlsform import default_surveys_dir

FORMS = sorted(default_surveys_dir().glob("*.xlsx"))

@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_kit_forms_convert_with_pyxform_and_pass_kit_rules(path):
    result = convert(xlsform=str(path), validate=False)
    assert "<h:html" in result.xform and not result.warnings
    res = validate_xlsform(path)
    assert res.instrument.form_id.startswith("territoria_")
    assert 'lang="Español (es)"' in res.xform and 'lang="English (en)"' in res.xform
    want = "2026.2" if path.name == "assembly.xlsx" else "2026.1"  # see surveys/CHANGELOG.md
    assert res.summary().startswith(f"{res.instrument.form_id} version {want}: ")


def test_real_kobo_form_passes_pyxform_but_not_kit_rules(real_data):
    path = real_data / "kobo-export-example" / "artifact-kobotoolbox.xlsx"
    assert validate_xlsform(path, kit_rules=False).instrument.version.startswith("21")
    with pytest.raises(InstrumentError, match=r"sheet settings, row 2: 'form_id' is missing"):
        validate_xlsform(path)


def _ok_rows():
    return [["integer", "a", "A", "A", None, None, None]]


def test_valid_minimal_form(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "ok.xlsx", _ok_rows(), head=form_head)
    assert validate_xlsform(p).instrument.fields[0].name == "a"


def test_bad_reference_reports_sheet_row_field(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "ref.xlsx", _ok_rows() + [["integer", "b", "B", "B", None, "${nope} > 1", None]],
                  head=form_head)
    with pytest.raises(InstrumentError) as e:
        validate_xlsform(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}, sheet survey, row 3, field b: ")
    assert "Could not find the name 'nope'" in msg and msg.endswith("(pyxform)")


def test_unknown_type_is_located(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "t.xlsx", _ok_rows() + [["intger", "b", "B", "B", None, None, None]],
                  head=form_head)
    with pytest.raises(InstrumentError, match=r"sheet survey, row 3, field b: Unknown question "
                                              r"type 'intger'"):
        validate_xlsform(p)


def test_missing_settings_and_form_id(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "ns.xlsx", _ok_rows(), head=form_head, settings=False)
    with pytest.raises(InstrumentError, match=r"ns\.xlsx, sheet settings: no settings sheet"):
        validate_xlsform(p)
    p = make_form(tmp_path / "nid.xlsx", _ok_rows(), head=form_head,
                  settings=[["form_title", "version", "default_language"],
                            ["T", "1", "Español (es)"]])
    with pytest.raises(InstrumentError, match=r"sheet settings, row 2: 'form_id' is missing"):
        validate_xlsform(p)


def test_missing_language_column(tmp_path, make_form, form_head):
    head = ["type", "name", "label::Español (es)", "territoria::personal", "territoria::free_text"]
    p = make_form(tmp_path / "lang.xlsx", [["integer", "a", "A"]], head=head)
    with pytest.raises(InstrumentError, match=r"sheet survey, row 1: no column "
                                              r"'label::English \(en\)'"):
        validate_xlsform(p)


def test_missing_english_label_on_one_row(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "lbl.xlsx", _ok_rows() + [["integer", "b", "B", None, None, None, None]],
                  head=form_head)
    with pytest.raises(InstrumentError, match=r"row 3, field b: label missing in English \(en\)"):
        validate_xlsform(p)


def test_duplicate_names_and_unknown_list(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "d.xlsx", _ok_rows() * 2, head=form_head)
    with pytest.raises(InstrumentError, match=r"sheet survey, row 3, field a: name 'a' is used twice"):
        validate_xlsform(p)
    p = make_form(tmp_path / "u.xlsx", [["select_one zz", "a", "A", "A", None, None, None]], head=form_head)
    with pytest.raises(InstrumentError, match=r"row 2, field a: list 'zz' is not in the choices"):
        validate_xlsform(p)


def test_personal_column_required_by_kit_rules(tmp_path, make_form, form_head):
    head = ["type", "name", "label::Español (es)", "label::English (en)"]
    p = make_form(tmp_path / "np.xlsx", [["integer", "a", "A", "A"]], head=head)
    with pytest.raises(InstrumentError, match=r"no 'territoria::personal' column"):
        validate_xlsform(p)
    assert validate_xlsform(p, kit_rules=False).instrument.personal_fields() == []


def test_choice_label_missing_language(tmp_path, make_form, form_head):
    p = make_form(tmp_path / "c.xlsx", [["select_one yn", "a", "A", "A", None, None, None]],
                  head=form_head, choices=[["yn", "yes", "Sí", None]])
    with pytest.raises(InstrumentError, match=r"sheet choices: choice 'yes' of list 'yn' has no "
                                              r"label in English"):
        validate_xlsform(p)


def test_not_an_xlsx(tmp_path, make_form, form_head):
    p = tmp_path / "x.xlsx"
    wb = openpyxl.Workbook()
    wb.save(p)
    with pytest.raises(InstrumentError, match="no 'survey' sheet"):
        validate_xlsform(p)
