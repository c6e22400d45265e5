"""The progress display: a bar with ETA on a terminal, nothing otherwise."""

import io
import sys

from territoria.progress import FilesProgress, progress_bar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar(10, desc="Pages") is None


def test_bar_on_a_terminal_shows_count_and_time_left(monkeypatch):
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert progress_bar(10, enabled=False) is None  # --quiet
    bar = progress_bar(10, desc="Páginas", unit="page")
    bar.update(4)
    bar.close()
    shown = term.getvalue()
    assert "Páginas" in shown and "4/10" in shown and "<" in shown  # tqdm's "elapsed<left"


def test_files_progress_moves_by_bytes_in_file_order(tmp_path, monkeypatch, capsys):
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(b"x" * 100)
    big.write_bytes(b"x" * 900)
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    p = FilesProgress([small, big, tmp_path / "missing.csv"], desc="Archivos")
    assert p.sizes == [100, 900, 0] and p.bar.total == 1000
    p.done("ok small.csv")
    assert p.bar.n == 100
    p.done("rejected big.csv", err=True)
    assert p.bar.n == 1000
    p.done("missing.csv")
    p.close()
    assert "ok small.csv" in capsys.readouterr().out  # the lines go above the bar
    assert "rejected big.csv" in term.getvalue()


def test_files_progress_without_a_terminal_prints_with_echo(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    seen = []
    p = FilesProgress([tmp_path / "a.csv"])
    p.done("a.csv ok", err=False, echo=lambda line, err: seen.append((line, err)))
    p.close()
    assert p.bar is None and seen == [("a.csv ok", False)]
