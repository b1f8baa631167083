"""How the matching's CSV files (caseload, drivers, catalogue) spell values, in one place.

French spreadsheets write ``;`` between columns, decimal commas (``2,50``) and ``oui`` /
``non``; exports from other tools write ``,``, points and ``true`` / ``false``. Both are read.
"""

from __future__ import annotations

from pathlib import Path

from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["BOOLEANS", "delimiter_of", "parse_bool", "parse_number", "read_text"]

#: The spellings of yes and no accepted.
BOOLEANS: dict[str, bool] = {
    "oui": True, "non": False, "vrai": True, "faux": False, "true": True, "false": False,
    "1": True, "0": False, "o": True, "n": False, "yes": True, "no": False,
}  # fmt: skip


def delimiter_of(text: str) -> str:
    """``;`` or ``,``, whichever the header line uses more."""
    first = text.splitlines()[0] if text.strip() else ""
    return ";" if first.count(";") >= first.count(",") else ","


def parse_bool(text: str) -> bool:
    """``oui`` / ``non`` (and the other :data:`BOOLEANS`); ValueError otherwise."""
    value = BOOLEANS.get(text.strip().lower())
    if value is None:
        raise ValueError(f"« {text} » : oui ou non attendu (oui, non, vrai, faux, 1, 0)")
    return value


def parse_number(text: str) -> float:
    """A number with a decimal point or comma (``2,50``); ValueError otherwise."""
    try:
        return float(text.strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        raise ValueError(f"« {text} » : nombre attendu") from None


def read_text(path: Path) -> str:
    """A UTF-8 file's text (with or without BOM); a clear error naming it otherwise."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(
            tr(f"lecture impossible ({exc})", f"cannot read ({exc})"), file=path
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            tr("le fichier n'est pas en UTF-8", "the file is not UTF-8"), file=path
        ) from exc
