"""Progress bars: on for a person at a terminal, off when not a terminal and with --no-progress.

Also: a local Dask cluster does not try port 8787 for its dashboard (no "Port 8787 is already
in use" warning when another Dask, or anything else, holds it).
"""

import io
import os
import socket
import warnings

import pytest

from clusterstruct import _progress
from clusterstruct._progress import ENV_VAR, NoProgress, progress, progress_enabled

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def terminal(monkeypatch):
    """Call to replace stderr by a stream that claims to be a terminal (the switch variable unset).

    Called inside the test: pytest's output capture resets sys.stderr between a fixture's
    setup and the test itself.
    """
    monkeypatch.delenv(ENV_VAR, raising=False)

    def attach():
        stream = FakeTerminal()
        monkeypatch.setattr("sys.stderr", stream)
        return stream
    return attach


def test_no_bar_when_not_a_terminal(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    bar = progress(range(3), desc="work")
    assert isinstance(bar, NoProgress)
    assert list(bar) == [0, 1, 2] and bar.n == 3
    assert stream.getvalue() == ""


def test_bar_on_a_terminal_and_off_with_the_variable(terminal, monkeypatch):
    from tqdm import tqdm
    terminal = terminal()
    bar = progress(total=4, desc="carving")
    assert isinstance(bar, tqdm)
    bar.update(4)
    bar.close()
    assert "carving" in terminal.getvalue() and "4/4" in terminal.getvalue()
    monkeypatch.setenv(ENV_VAR, "1")
    assert isinstance(progress(total=4), NoProgress)
    monkeypatch.setenv(ENV_VAR, "0")          # "0" and "" mean: not switched off
    assert progress_enabled() is True


def test_enabled_argument_overrides(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    from tqdm import tqdm
    bar = progress(total=1, enabled=True, file=io.StringIO())
    assert isinstance(bar, tqdm)
    bar.close()
    monkeypatch.delenv(ENV_VAR)
    assert isinstance(progress(total=1, enabled=False), NoProgress)


def test_silent_bar_has_the_tqdm_interface():
    with progress(total=5, enabled=False, initial=2, unit="x") as bar:
        bar.update()
        bar.update(2)
        bar.set_postfix_str("note")
        bar.set_postfix(a=1)
        bar.set_description("d")
        bar.refresh()
        assert bar.n == 5 and bar.total == 5 and bool(bar)
    bar.close()
    assert list(progress(None, enabled=False)) == []


# -- the command line -------------------------------------------------------------------------

@pytest.fixture
def recorded(monkeypatch):
    """`build composition` with the search replaced by one that records whether bars are on."""
    from clusterstruct.structures import composition
    seen = []

    def fake(*args, **kwargs):
        seen.append((progress_enabled(), os.environ.get(ENV_VAR)))
        return []
    monkeypatch.setattr(composition, "carve_to_composition", fake)
    return seen


@pytest.mark.parametrize("where", ["none", "before", "after"])
def test_no_progress_flag(terminal, recorded, tmp_path, where):
    from clusterstruct.cli.main import main
    terminal()
    cmd = ["build", "composition", "--material", "CdSe", "--metal", "4", "--chalcogen", "4",
           "-o", str(tmp_path / "out")]
    argv = {"none": cmd, "before": ["--no-progress"] + cmd, "after": cmd + ["--no-progress"]}[where]
    assert main(argv) == 0
    on, value = recorded[0]
    assert on is (where == "none")
    assert value == (None if where == "none" else "1")
    assert ENV_VAR not in os.environ             # put back when the command ends


def test_no_progress_accepted_by_every_command():
    from clusterstruct.cli.main import build_parser
    parser = build_parser()
    args = parser.parse_args(["--no-progress", "info", "x.xyz"])
    assert args.no_progress_global is True
    assert parser.parse_args(["info", "x.xyz", "--no-progress"]).no_progress is True
    # screen defines its own --no-progress; both spellings still parse
    assert parser.parse_args(["screen", "s.toml", "-o", "r.h5", "--no-progress"]).no_progress is True
    assert parser.parse_args(["--no-progress", "screen", "s.toml", "-o", "r.h5"]).no_progress_global is True


def test_composition_progress_does_not_change_the_result(terminal):
    from clusterstruct.structures.composition import carve_to_composition
    terminal()
    a = carve_to_composition("CdSe", 13, 13, top=3, progress=True)
    b = carve_to_composition("CdSe", 13, 13, top=3, progress=False)
    assert [c.score for c in a] == [c.score for c in b]
    assert [c.atoms.positions.tolist() for c in a] == [c.atoms.positions.tolist() for c in b]


def test_composition_bar_follows_the_switch(terminal, monkeypatch):
    """A slow search (simulated: no delay) draws its bars on a terminal, none with the variable set."""
    from clusterstruct.structures.composition import carve_to_composition
    terminal = terminal()
    real = _progress.progress

    def no_delay(*args, **kwargs):
        kwargs.pop("delay", None)
        return real(*args, **kwargs)
    monkeypatch.setattr(_progress, "progress", no_delay)
    carve_to_composition("CdSe", 13, 13, top=3)
    assert "Cd13Se13 cores" in terminal.getvalue() and "point groups" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    monkeypatch.setenv(ENV_VAR, "1")
    carve_to_composition("CdSe", 13, 13, top=3)
    assert terminal.getvalue() == ""


# -- Dask ----------------------------------------------------------------------------------------

def test_local_cluster_does_not_warn_about_port_8787():
    pytest.importorskip("distributed")
    from clusterstruct.screen.run import _client
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(("127.0.0.1", 8787))
            sock.listen(1)
        except OSError:
            pass  # already held by another program: the situation under test all the same
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client, cluster = _client(1, None, None, None)
            try:
                port = cluster.scheduler.http_server.port
            finally:
                client.close()
                cluster.close()
        assert port != 8787
        assert not [w for w in caught if "8787" in str(w.message) or "already in use" in str(w.message)]
    finally:
        sock.close()
