"""The pseudonymisation key is guarded (issue 16, item 4)."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from territoria.cli import cli
from territoria.config import init_workspace
from territoria.exceptions import ConfigError
from territoria.secret import fingerprint, mark_pseudonymised, recorded
from territoria.store import Store


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "w", "Iztapalapa")
    with Store(w.store_path) as s, s.transaction():
        mark_pseudonymised(s, w.secret())
    return w


def test_fingerprint_recorded_once(ws):
    with Store(ws.store_path, read_only=True) as s:
        assert recorded(s) == fingerprint(ws.secret())


def test_missing_key_stops_every_command_with_one_line(ws):
    os.remove(ws.secret_path)
    with pytest.raises(ConfigError) as e:
        Store(ws.store_path, read_only=True)
    assert "backup" in str(e.value) or "respaldo" in str(e.value)
    for args in (["info"], ["ingest", str(ws.root / "city.yml")]):
        r = CliRunner().invoke(cli, [*args, "-w", str(ws.root)])
        assert r.exit_code == 1 and "secret rotate" in r.output, r.output
        assert "unexpected" not in r.output
    assert not ws.secret_path.exists()  # no new key made behind the user's back


def test_different_key_is_refused(ws):
    ws.secret_path.write_text("ab" * 32)
    os.chmod(ws.secret_path, 0o600)
    with pytest.raises(ConfigError, match="secret rotate"):
        Store(ws.store_path)


def test_rotate_rekeys_on_purpose(ws):
    old = fingerprint(ws.secret())
    os.remove(ws.secret_path)
    r = CliRunner().invoke(cli, ["secret", "rotate", "-w", str(ws.root)])
    assert r.exit_code == 1  # needs --yes
    r = CliRunner().invoke(cli, ["secret", "rotate", "--yes", "-w", str(ws.root)])
    assert r.exit_code == 0, r.output
    with Store(ws.store_path, read_only=True) as s:
        assert recorded(s) == fingerprint(ws.secret()) != old


def test_key_readable_by_others_is_set_back_to_0600(ws, capfd):
    os.chmod(ws.secret_path, 0o644)
    ws.secret()
    assert stat.S_IMODE(ws.secret_path.stat().st_mode) == 0o600
    assert "0600" in capfd.readouterr().err
