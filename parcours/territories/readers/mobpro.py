"""Commuting: INSEE's « Mobilités professionnelles » detail file (fichier détail MOBPRO).

Source
------
INSEE, recensement de la population, *Mobilités professionnelles des individus :
déplacements commune de résidence / commune de travail* (``FD_MOBPRO_AAAA.csv``, in the zip
``RPAAAA_mobpro_csv.zip``; edition 2020: https://www.insee.fr/fr/statistiques/7637844).
INSEE's documentation of the file (https://www.insee.fr/fr/information/2383243) says:

* one record per individual: the employed people aged 15 or more, living in metropolitan
  France or an overseas département, with their home-to-work trip (« exploitation
  complémentaire » of the census, hence a weight);
* every figure must be computed with the weight ``IPONDI``, which has up to 15 decimals and
  must be kept whole to avoid rounding errors;
* the finest place is the commune, the arrondissement municipal for Paris, Lyon, Marseille;
* counts above 500 may be used with confidence; counts below 200 must be handled with care,
  being imprecise because of the sampling (see
  :data:`parcours.diagnostic.secrecy.MOBPRO_MIN_WORKERS`).

The file is ``;``-separated, its first line names the variables. The columns read are:

* ``COMMUNE``: commune of residence (INSEE code, 5 characters); ``ARM``: its arrondissement
  municipal in Paris, Lyon, Marseille, ``ZZZZZ`` elsewhere (optional);
* ``DCLT``: commune (arrondissement in Paris, Lyon, Marseille) of the place of work; a code
  beginning with ``99`` is a place abroad;
* ``TRANS``: the main means of transport to work. This reader supports the coding of the
  editions 2020 and later: 1 pas de transport (works at home), 2 marche à pied (ou rollers,
  patinette), 3 vélo (y compris à assistance électrique), 4 deux-roues motorisé, 5 voiture,
  camion, fourgonnette, 6 transports en commun. Older editions code the modes differently
  (2017-2019: 1 pas de transport, 2 marche, 3 deux roues, 4 voiture, 5 transports en
  commun): a file whose name gives an edition before 2020 is refused rather than misread;
* ``IPONDI``: the weight (decimal point or comma), >= 0;
* optionally ``ILT`` (place of work relative to residence: 1 same commune, 2 another commune
  of the same département, ...), ``AGEREVQ``, ``SEXE``, ``VOIT``, kept as text, lower-cased.

The national file holds about 8 million rows (several GB): it is streamed in chunks of
:data:`CHUNK_ROWS` rows reading only these columns, and only the rows whose residence
commune (or arrondissement) **or** place of work is one of the territory's communes are
kept. The kept rows are then checked, each error (an :class:`InputError`) naming the file,
the line (the header is line 1) and the field: a malformed commune code, an unknown
``TRANS`` code, an empty, non-numeric or negative ``IPONDI``. Rows elsewhere in France are
not checked (they are not used). A missing column or a separator other than ``;`` is an
error on line 1; a file keeping no row is an error too (wrong file, or a regional extract
not covering the territory).

The file may be given as is or as INSEE's zip (the member ``FD_MOBPRO_*.csv`` is read; the
``Varmod_MOBPRO_*.csv`` beside it is ignored). Encoding: UTF-8 (with or without BOM),
Windows-1252 or Latin-1, detected on the header (the values are codes, plain ASCII).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from parcours.errors import CsvFormatError, InputError
from parcours.geo.tables import decode_text, find_column, sniff_delimiter
from parcours.i18n import tr
from parcours.territories.readers._base import LayerData, ReadContext
from parcours.territories.readers._common import INSEE_CODE, Origin, float_column

__all__ = [
    "ARRONDISSEMENT_COMMUNES",
    "CHUNK_ROWS",
    "COMMUTING_COLUMNS",
    "MIN_EDITION",
    "MOBPRO_MODES",
    "MOBPRO_OPTIONAL",
    "arrondissement_commune",
    "mobpro_edition",
    "read_mobpro",
]

#: ``TRANS`` code (editions 2020 and later) -> the mode name used by parcours.
MOBPRO_MODES: dict[int, str] = {
    1: "none",
    2: "walk",
    3: "bike",
    4: "two_wheeler",
    5: "car",
    6: "transit",
}

# The French labels of the TRANS codes, for messages.
_TRANS_LABELS_FR: dict[int, str] = {
    1: "pas de transport",
    2: "marche à pied",
    3: "vélo",
    4: "deux-roues motorisé",
    5: "voiture",
    6: "transports en commun",
}

#: The first edition whose ``TRANS`` coding this reader supports.
MIN_EDITION = 2020

#: Optional columns kept (lower-cased, as text) when the file has them.
MOBPRO_OPTIONAL: tuple[str, ...] = ("ILT", "AGEREVQ", "SEXE", "VOIT")

#: The columns of the ``commuting`` layer (then the optional ones present, lower-cased).
COMMUTING_COLUMNS: tuple[str, ...] = (
    "commune",
    "arm",
    "work_commune",
    "work_place",
    "abroad",
    "trans",
    "mode",
    "weight",
)

#: Rows read at a time.
CHUNK_ROWS = 500_000

# Bytes read to decide the encoding.
_SAMPLE_BYTES = 1 << 20

_REQUIRED = ("COMMUNE", "DCLT", "TRANS", "IPONDI")
_NO_ARM = {"", "ZZZZZ"}
_EDITION = re.compile(r"MOBPRO_(\d{4})", re.IGNORECASE)
_MEMBER = re.compile(r"(?:^|/)FD_MOBPRO[^/]*\.csv$", re.IGNORECASE)


def _arrondissements() -> dict[str, str]:
    codes: dict[str, str] = {}
    codes.update({f"751{n:02d}": "75056" for n in range(1, 21)})  # Paris
    codes.update({f"6938{n}": "69123" for n in range(1, 10)})  # Lyon
    codes.update({f"132{n:02d}": "13055" for n in range(1, 17)})  # Marseille
    return codes


#: Arrondissement municipal code -> its commune (Paris 75056, Lyon 69123, Marseille 13055).
ARRONDISSEMENT_COMMUNES: dict[str, str] = _arrondissements()


def arrondissement_commune(codes: pd.Series) -> pd.Series:
    """Map arrondissement codes (``75108``) to their commune (``75056``), others unchanged."""
    return codes.map(lambda c: ARRONDISSEMENT_COMMUNES.get(c, c) if isinstance(c, str) else c)


def mobpro_edition(name: str) -> int | None:
    """The edition (census year) given by a file name (``FD_MOBPRO_2020.csv`` -> 2020)."""
    found = _EDITION.search(Path(name).name)
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------------------------
# Opening the file
# --------------------------------------------------------------------------------------------


@contextmanager
def _open_source(path: Path) -> Iterator[tuple[IO[bytes], str]]:
    """Open the CSV (or the ``FD_MOBPRO_*.csv`` member of a zip) as a binary stream."""
    if path.suffix.lower() != ".zip":
        with path.open("rb") as handle:
            yield handle, str(path)
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(tr("archive zip illisible", "unreadable zip archive"), file=path) from exc
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        members = [n for n in names if _MEMBER.search(n)]
        if not members:
            members = [n for n in names if n.lower().endswith(".csv") and "varmod" not in n.lower()]
        if len(members) != 1:
            listed = ", ".join(names) or "-"
            raise InputError(
                tr(
                    f"l'archive doit contenir un fichier FD_MOBPRO_*.csv (contenu : {listed})",
                    f"the archive must hold one FD_MOBPRO_*.csv file (content: {listed})",
                ),
                file=path,
            )
        with archive.open(members[0]) as handle:
            yield handle, f"{path}/{members[0]}"


def _header(handle: IO[bytes], name: str) -> tuple[list[str], str]:
    """Read the header line: the column names and the encoding; refuse another separator.

    The encoding is decided on the first :data:`_SAMPLE_BYTES` (cut at a line end): UTF-8
    when they hold UTF-8 text beyond ASCII (or a BOM), Windows-1252 / Latin-1 when they do
    not decode as UTF-8, and Latin-1 when they are plain ASCII (INSEE's values are codes:
    Latin-1 decodes any byte, so a stray accent further on cannot stop the reading).
    The stream is left at the first record.
    """
    sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise CsvFormatError(tr("fichier vide", "empty file"), file=name)
    if len(sample) == _SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    _, encoding = decode_text(sample, name=name)
    if encoding == "utf-8" and sample.isascii():
        encoding = "latin-1"
    handle.seek(0)
    raw = handle.readline(_SAMPLE_BYTES)
    line = raw.decode(encoding).removeprefix("\ufeff").rstrip("\r\n")
    separator = sniff_delimiter(line)
    if separator != ";":
        found = separator if line.count(separator) else tr("aucun", "none")
        raise CsvFormatError(
            tr(
                f"séparateur « ; » attendu (fichiers détail INSEE), trouvé « {found} » : le "
                "fichier a-t-il été réenregistré par un tableur ?",
                f"separator ';' expected (INSEE detail files), found '{found}': was the file "
                "saved again by a spreadsheet?",
            ),
            file=name,
            row=1,
        )
    columns = [c.strip().strip('"').strip() for c in line.split(";")]
    return columns, encoding


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


def read_mobpro(
    path: str | PathLike[str],
    ctx: ReadContext,
    *,
    communes: Iterable[str],
    edition: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[LayerData]:
    """Read INSEE's MOBPRO detail file into the ``commuting`` table.

    Parameters
    ----------
    path
        ``FD_MOBPRO_AAAA.csv`` or INSEE's zip holding it.
    ctx
        The territory (only its progress callback is used: the file has no geometry).
    communes
        The territory's INSEE commune (or arrondissement) codes: a row is kept when its
        residence or its place of work is one of them.
    edition
        The census edition, when the file's name does not give it (``2020``); editions
        before :data:`MIN_EDITION` are refused (another ``TRANS`` coding).
    chunk_rows
        Rows read at a time.

    Returns
    -------
    list of LayerData
        One ``commuting`` table, one row per record kept, columns
        :data:`COMMUTING_COLUMNS`: ``commune`` (residence, ``COMMUNE``), ``arm`` (its
        arrondissement, null outside Paris, Lyon, Marseille), ``work_commune`` (``DCLT``,
        an arrondissement replaced by its commune), ``work_place`` (``DCLT`` as given),
        ``abroad`` bool (``DCLT`` begins with 99), ``trans`` int8 (``TRANS``), ``mode``
        (:data:`MOBPRO_MODES`), ``weight`` float64 (``IPONDI``, workers), then the optional
        columns present (``ilt``, ``agerevq``, ``sexe``, ``voit``). ``extra`` holds the
        edition, encoding, rows read and kept, and the weighted workers kept.

    Raises
    ------
    InputError
        Missing file or column, a separator other than ``;``, an edition before 2020, an
        unknown ``TRANS`` code, a bad ``IPONDI`` or commune code in a kept row (naming the
        file, line and field), or no row kept.

    """
    source_path = Path(path)
    if not source_path.exists():
        raise InputError(tr("fichier introuvable", "file not found"), file=source_path)
    wanted = {str(c).strip().upper() for c in communes if str(c).strip()}
    if not wanted:
        raise InputError(
            tr(
                "aucune commune du territoire : impossible de choisir les navettes à garder",
                "no commune for the territory: cannot choose the commutes to keep",
            ),
            file=source_path,
            field="communes",
        )
    ctx.progress(tr("navettes domicile-travail (MOBPRO)", "home-to-work commutes (MOBPRO)"), None)
    warnings: list[str] = []
    with _open_source(source_path) as (handle, name):
        origin = Origin(name, tabular=True)
        year = edition if edition is not None else mobpro_edition(name)
        if year is not None and year < MIN_EDITION:
            raise InputError(
                tr(
                    f"édition {year} : son codage de TRANS (1 pas de transport, 2 marche, "
                    "3 deux roues, 4 voiture, 5 transports en commun) n'est pas celui des "
                    f"éditions {MIN_EDITION} et suivantes que parcours lit (3 vélo, 4 deux-roues "
                    "motorisé, 5 voiture, 6 transports en commun) : prenez le fichier "
                    f"FD_MOBPRO_{MIN_EDITION} ou plus récent",
                    f"edition {year}: its TRANS coding (1 no transport, 2 walking, 3 two "
                    "wheels, 4 car, 5 public transport) is not that of the editions "
                    f"{MIN_EDITION} and later which parcours reads (3 bicycle, 4 motorised "
                    "two-wheeler, 5 car, 6 public transport): take FD_MOBPRO_"
                    f"{MIN_EDITION} or a later file",
                ),
                file=name,
                field="TRANS",
            )
        if year is None:
            warnings.append(
                tr(
                    f"{name} : édition inconnue (nom sans FD_MOBPRO_AAAA), codage TRANS des "
                    f"éditions {MIN_EDITION} et suivantes supposé",
                    f"{name}: unknown edition (name without FD_MOBPRO_YYYY), the TRANS coding "
                    f"of the editions {MIN_EDITION} and later is assumed",
                )
            )
        columns, encoding = _header(handle, name)
        found: dict[str, str] = {}
        for field in _REQUIRED:
            column = find_column(columns, [field])
            if column is None:
                raise origin.missing_column(field, [field], columns)
            found[field] = column
        for field in ("ARM", *MOBPRO_OPTIONAL):
            column = find_column(columns, [field])
            if column is not None:
                found[field] = column
        kept, rows_in_file = _stream(handle, name, columns, found, encoding, wanted, chunk_rows)
    frame = _checked_frame(kept, origin, found)
    if frame.empty:
        shown = ", ".join(sorted(wanted)[:10]) + (" ..." if len(wanted) > 10 else "")
        raise InputError(
            tr(
                f"aucun actif ne réside ni ne travaille dans les communes du territoire "
                f"({shown}) : le fichier couvre-t-il le territoire (extrait régional) ?",
                f"no worker lives or works in the territory's communes ({shown}): does the "
                "file cover the territory (a regional extract)?",
            ),
            file=name,
            field=found["COMMUNE"],
        )
    extra = {
        "source": str(source_path),
        "edition": year,
        "encoding": encoding,
        "rows_in_file": rows_in_file,
        "rows_kept": len(frame),
        "workers": float(frame["weight"].sum()),
        "workers_resident": float(frame.loc[frame["commune"].isin(wanted), "weight"].sum()),
        "communes": len(wanted),
    }
    return [LayerData(name="commuting", frame=frame, warnings=warnings, extra=extra)]


def _stream(
    handle: IO[bytes],
    name: str,
    columns: list[str],
    found: dict[str, str],
    encoding: str,
    wanted: set[str],
    chunk_rows: int,
) -> tuple[pd.DataFrame, int]:
    """Read the rows after the header by chunks, keeping those of the territory."""
    usecols = sorted(set(found.values()), key=columns.index)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    parts: list[pd.DataFrame] = []
    rows = 0
    try:
        reader = pd.read_csv(
            text,
            sep=";",
            header=None,
            names=columns,
            usecols=usecols,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            chunksize=max(1, int(chunk_rows)),
        )
        for chunk in reader:
            rows += len(chunk)
            residence = chunk[found["COMMUNE"]].str.strip().str.upper()
            work = chunk[found["DCLT"]].str.strip().str.upper()
            keep = residence.isin(wanted) | work.isin(wanted)
            keep |= arrondissement_commune(work).isin(wanted)
            if "ARM" in found:
                keep |= chunk[found["ARM"]].str.strip().str.upper().isin(wanted)
            if keep.any():
                parts.append(chunk.loc[keep.to_numpy()])
    except pd.errors.ParserError as exc:
        raise CsvFormatError(
            tr(f"lecture impossible : {exc}", f"cannot parse: {exc}"), file=name
        ) from exc
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            tr(
                f"encodage incohérent ({encoding} d'après l'en-tête) : {exc}",
                f"inconsistent encoding ({encoding} from the header): {exc}",
            ),
            file=name,
        ) from exc
    finally:
        text.detach()
    if parts:
        return pd.concat(parts), rows
    return pd.DataFrame(columns=usecols, dtype=str), rows


def _codes(values: pd.Series, origin: Origin, field: str, *, abroad_ok: bool) -> pd.Series:
    """Upper-case, stripped commune codes, refusing an empty or malformed one."""
    text = values.str.strip().str.upper()
    bad = ~text.str.fullmatch(INSEE_CODE.pattern.strip("^$")).to_numpy(dtype=bool)
    if not bad.any():
        return text
    i = int(np.flatnonzero(bad)[0])
    raw = values.iloc[i]
    label = values.index[i]
    if not raw.strip():
        raise origin.error("code INSEE vide", "empty INSEE code", label=label, field=field)
    hint_fr = " ; un lieu à l'étranger commence par 99" if abroad_ok else ""
    hint_en = "; a place abroad begins with 99" if abroad_ok else ""
    raise origin.error(
        f"code INSEE invalide « {raw} » : 5 caractères attendus, chiffres ou 2A/2B suivis de "
        f"3 chiffres (ex. 44109){hint_fr}",
        f"invalid INSEE code '{raw}': 5 characters expected, digits or 2A/2B followed by "
        f"3 digits (e.g. 44109){hint_en}",
        label=label,
        field=field,
    )


def _checked_frame(kept: pd.DataFrame, origin: Origin, found: dict[str, str]) -> pd.DataFrame:
    """Check the kept rows and build the ``commuting`` table."""
    commune = _codes(kept[found["COMMUNE"]], origin, found["COMMUNE"], abroad_ok=False)
    work_place = _codes(kept[found["DCLT"]], origin, found["DCLT"], abroad_ok=True)
    if "ARM" in found:
        arm_text = kept[found["ARM"]].str.strip().str.upper()
        has_arm = ~arm_text.isin(_NO_ARM)
        _codes(arm_text[has_arm], origin, found["ARM"], abroad_ok=False)
        arm = arm_text.where(has_arm, None)
    else:
        arm = pd.Series([None] * len(kept), index=kept.index, dtype=object)
    trans_text = kept[found["TRANS"]].str.strip()
    known = trans_text.isin([str(code) for code in MOBPRO_MODES]).to_numpy()
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        listed_fr = ", ".join(f"{k} {v}" for k, v in _TRANS_LABELS_FR.items())
        listed_en = ", ".join(f"{k} {v}" for k, v in MOBPRO_MODES.items())
        raw = trans_text.iloc[i]
        if not raw:
            raise origin.error(
                "valeur vide", "empty value", label=kept.index[i], field=found["TRANS"]
            )
        raise origin.error(
            f"code TRANS inconnu « {raw} » : attendu 1 à 6 ({listed_fr})",
            f"unknown TRANS code '{raw}': 1 to 6 expected ({listed_en})",
            label=kept.index[i],
            field=found["TRANS"],
        )
    trans = trans_text.astype("int8")
    weight = float_column(kept[found["IPONDI"]], origin, field=found["IPONDI"], minimum=0)
    data: dict[str, object] = {
        "commune": pd.Series(commune.to_numpy(), dtype="str"),
        "arm": pd.Series(arm.to_numpy(), dtype="str"),
        "work_commune": pd.Series(arrondissement_commune(work_place).to_numpy(), dtype="str"),
        "work_place": pd.Series(work_place.to_numpy(), dtype="str"),
        "abroad": work_place.str.startswith("99").to_numpy(dtype=bool),
        "trans": trans.to_numpy(),
        "mode": pd.Series(trans.map(MOBPRO_MODES).to_numpy(), dtype="str"),
        "weight": np.asarray(weight, dtype="float64"),
    }
    for field in MOBPRO_OPTIONAL:
        if field in found:
            values = kept[found[field]].str.strip()
            filled = values.where(values != "", None).to_numpy()
            data[field.lower()] = pd.Series(filled, dtype="str")
    return pd.DataFrame(data)
