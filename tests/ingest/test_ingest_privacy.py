"""Personal data typed in free text is redacted; quarantine keeps pseudonymised codes only
(issue 16, item 8)."""

from __future__ import annotations

import pytest

from territoria.ingest import ingest_files
from territoria.ingest.privacy import redact
from territoria.store import Store

# (what residents actually type, what must disappear, what must stay)
CASES = [
    ("Mi cel es 55 1234 5678 por si necesitan algo", "1234 5678", "por si necesitan"),
    ("llamar al 5512345678 después de las 6", "5512345678", "después de las 6"),
    ("Tel: (55) 5612-3344 con la Sra. Rosa", "5612-3344", "con la Sra"),
    ("whats +52 1 55 9876 5432", "9876 5432", "whats"),
    ("Celular 044 55 2233 4455", "2233 4455", "Celular"),
    ("tel 55-12-34-56-78", "34-56-78", "tel"),
    ("Tel. casa 5698-7412", "5698-7412", "casa"),
    ("escríbanme a juan.perez_77@hotmail.com o a rosa@yahoo.com.mx", "hotmail", "escríbanme"),
    ("Vivo en Calle Benito Juárez 123, col. Santa Cruz", "Juárez 123", "Santa Cruz"),
    ("en Av. Ermita Iztapalapa 2360 hay un bache", "2360", "hay un bache"),
    ("Cerrada de Morelos núm. 14 int. 3", "núm. 14", ""),
    ("Mz 45 Lt 12, U.H. Vicente Guerrero", "Lt 12", "Vicente Guerrero"),
    ("Calzada Ignacio Zaragoza #1020", "1020", ""),
    ("Andador 7 número 3", "número 3", ""),
]
KEEP = ["Faltan 3 luminarias en el parque desde 2023",
        "Hubo 12 asaltos en marzo, el 40% de noche",
        "La junta es el 15/03/2024 a las 18:30",
        "Somos 250 familias en la unidad",
        "Se pidió la propuesta P-0012 en la asamblea 2"]


@pytest.mark.parametrize("text, gone, kept", CASES)
def test_personal_data_in_spanish_text_is_redacted(text, gone, kept):
    out = redact(text)
    assert gone not in out, out
    assert kept in out
    assert "[" in out


@pytest.mark.parametrize("text", KEEP)
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text


def test_quarantine_keeps_only_pseudonymised_link_codes(ws, tmp_path):
    p = tmp_path / "enlaces.csv"
    p.write_text("link_code,territory,area,sex,age_group,name,phone\n"
                 "ENL-0001,07-001,youth,female,18_29,Rosa Pérez,5512345678\n"
                 "ENL-0001,07-001,youth,female,18_29,Rosa Pérez,5512345678\n", encoding="utf-8")
    (r,) = ingest_files(ws, [p], kind="links")
    assert r.status == "ok" and r.quarantined == 1, r.message
    with Store(ws.store_path, read_only=True) as s:
        q = s.table("quarantine")
        everything = " ".join(str(v) for v in q.values.ravel())
    assert "ENL-0001" not in everything and "5512345678" not in everything
    assert q.loc[q["column"] == "link_code", "value"].str.startswith("p_").all()


def test_link_dates_impossible_or_future_are_quarantined(ws, tmp_path):
    p = tmp_path / "enlaces.csv"
    p.write_text("link_code,territory,area,joined_on\n"
                 "E1,07-001,youth,2024-02-30\nE2,07-001,youth,2099-01-01\n"
                 "E3,07-001,youth,2024-02-03\n", encoding="utf-8")
    (r,) = ingest_files(ws, [p], kind="links")
    assert (r.accepted, r.quarantined) == (1, 2), r.message
    with Store(ws.store_path, read_only=True) as s:
        assert sorted(s.table("quarantine")["rule"]) == ["date:YYYY-MM-DD", "future_date"]
