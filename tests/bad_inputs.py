"""Harness of the bad-input suite: one malformed input through one command, judged as a user would.

Every case asserts the promise of the README ("one message, exit 1, nothing written"):

* exit code 1 through ``typer.Exit`` (an unhandled exception, also exit code 1 in the runner, fails);
* exactly one line starting with ``error:``, containing every expected fragment (case-insensitive) —
  the thing named (file, column, row, unit id, config key) and the fix;
* no ``Traceback`` anywhere in the output;
* nothing new, changed or removed in ``--out`` (a folder that did not exist still does not), no
  ``.spillmap-staging-*`` folder next to it;
* the input files' bytes unchanged.

Cases live in ``tests/data/bad_inputs/`` (small files, each with a comment or README line saying what is
wrong) or are written by the test into ``tmp_path``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from typer.testing import CliRunner

from spillmap.cli import app

BAD_INPUTS = Path(__file__).parent / "data" / "bad_inputs"


def _tree(folder: Path | None) -> dict[str, str] | None:
    """Relative path → sha256 of every file under ``folder`` (None when it does not exist)."""
    if folder is None or not folder.exists():
        return None
    if folder.is_file():
        return {"": hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _digest(paths: Iterable[Path]) -> dict[str, str]:
    out = {}
    for path in paths:
        for p in ([path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_bad(args: Sequence[str], *, expect: str | Sequence[str], out: Path | None = None,
            inputs: Sequence[Path] = (), runner: CliRunner | None = None) -> str:
    """Run ``spillmap *args`` and assert the bad-input promise; returns the error line.

    ``expect``: fragments the one error line must contain (case-insensitive). ``out``: the command's
    ``--out`` folder (checked unchanged). ``inputs``: files or folders whose bytes must not change.
    """
    runner = runner or CliRunner()
    fragments = [expect] if isinstance(expect, str) else list(expect)
    before_out = _tree(out)
    before_in = _digest(Path(p) for p in inputs)
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output
    assert result.exit_code == 1, f"exit {result.exit_code}, expected 1:\n{text}"
    assert isinstance(result.exception, SystemExit), (
        f"unhandled {type(result.exception).__name__}: {result.exception}\n{text}")
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected one 'error:' line, got {len(errors)}:\n{text}"
    # the message may wrap in a narrow console: judge the whole error paragraph
    message = " ".join(text[text.index("error:"):].split())
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in the error:\n{message}"
    assert _tree(out) == before_out, f"--out changed: {before_out} → {_tree(out)}"
    if out is not None:
        parent = out.parent if out.parent.exists() else None
        if parent is not None:
            assert not list(parent.glob(".spillmap-staging-*")) and not list(parent.glob(f".{out.name}.*")), (
                "staging left beside --out")
    assert _digest(Path(p) for p in inputs) == before_in, "an input file changed"
    return message
