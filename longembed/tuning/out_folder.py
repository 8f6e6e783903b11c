"""The ``--out`` folder of ``longembed tune``, checked before anything is trained or written.

- missing, or an empty folder: written;
- a tuned folder longembed wrote (it holds ``longembed_tuning.json`` or ``checkpoints/step-*.pt``): refused unless
  ``--resume`` (continue its training) or ``--overwrite`` (its contents are deleted when training starts);
- a file, or any other non-empty folder (e.g. another model's files): always refused, nothing written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from longembed.errors import TuneError
from longembed.models.bundled import TUNING_FILE


def shown(path: str | Path) -> str:
    text = str(path)
    return repr(text[:80] + "…" if len(text) > 80 else text)


def written_by_tune(folder: Path) -> bool:
    """Whether ``folder`` is (or is becoming) a tuned folder of ``longembed tune``."""
    return (folder / TUNING_FILE).is_file() or any((folder / "checkpoints").glob("step-*.pt"))


def check_out(out: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse an ``--out`` that training must not write into (see the module docstring).

    Raises:
        TuneError: ``out`` is a file, a non-empty folder longembed did not write, or a tuned folder without
            ``--resume``/``--overwrite``; or both flags are given.
    """
    folder = Path(out)
    if resume and overwrite:
        raise TuneError("give --resume (continue the training in --out) or --overwrite (start again), not both")
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir():
        raise TuneError(f"--out {shown(out)} is a file, not a folder; give a new or empty folder for the tuned model")
    try:
        empty = not any(folder.iterdir())
    except OSError as exc:
        raise TuneError(f"cannot list --out {shown(out)}: {exc.strerror or exc}") from None
    if empty:
        return
    if not written_by_tune(folder):
        raise TuneError(
            f"--out {shown(out)} is a non-empty folder that is not a tuned model written by longembed; nothing was "
            "trained or written (give a new or empty folder)"
        )
    if not (resume or overwrite):
        raise TuneError(
            f"--out {shown(out)} already holds a tuned model written by longembed; give --overwrite to replace it, "
            "--resume to continue its training, or another folder"
        )


def clear_out(out: str | Path) -> None:
    """Delete the contents of a tuned folder ``out`` (``--overwrite``, after :func:`check_out` accepted it).

    Raises:
        TuneError: it cannot be deleted.
    """
    folder = Path(out)
    if not folder.is_dir() or not written_by_tune(folder):
        return
    try:
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    except OSError as exc:
        raise TuneError(f"cannot clear --out {shown(out)} for --overwrite: {exc.strerror or exc}") from None
