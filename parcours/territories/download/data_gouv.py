"""The national files of INSEE and data.gouv.fr.

Geolocated SIRENE per département (merged into one file), and Filosofi, BPE, the BNLC and
the QPV contours (one file each, downloaded as it is).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from parcours.i18n import tr
from parcours.territories.download._fetcher import (
    _Fetcher,
    _file_record,
    _remove_others,
)
from parcours.territories.download.geo_api import (
    _AdminUnits,
)

__all__: list[str] = []


def _merge_csv_gz(parts: Sequence[Path], target: Path) -> None:
    """Concatenate gzipped CSV files sharing one header into one gzipped CSV."""
    tmp = target.with_name(f".{target.name}.tmp")
    with gzip.open(tmp, "wb", compresslevel=5) as out:
        for number, part in enumerate(parts):
            with gzip.open(part, "rb") as stream:
                header = stream.readline()
                if number == 0:
                    out.write(header)
                shutil.copyfileobj(stream, out, 1 << 20)
    tmp.replace(target)


def _fetch_sirene(fetcher: _Fetcher, units: _AdminUnits, dest_dir: Path) -> None:
    records = []
    for dep in sorted(units.departements):
        url = fetcher.urls.sirene.replace("{dep}", quote(dep))
        records.append(fetcher.get(url, dest_dir / "sirene", label=f"SIRENE {dep}"))
    if len(records) == 1:
        fetcher.result._add("sirene", records[0].path, records[0].manifest_entry())
        return
    for record in records:
        fetcher.result._add("sirene", record.path, record.manifest_entry(), intermediate=True)
    key = hashlib.sha256("".join(r.sha256 for r in records).encode()).hexdigest()[:12]
    target = dest_dir / f"geo_siret_{'-'.join(sorted(units.departements))}_{key}.csv.gz"
    if not target.exists():
        fetcher.progress(tr("fusion des fichiers SIRENE", "merging the SIRENE files"), None)
        _merge_csv_gz([r.path for r in records], target)
    _remove_others(dest_dir, "geo_siret_*.csv.gz", keep=[target])
    fetcher.result._add(
        "sirene",
        target,
        _file_record(
            target,
            None,
            derived_from=[r.url for r in records],
            derived_from_sha256=[r.sha256 for r in records],
        ),
    )


def _fetch_file(fetcher: _Fetcher, name: str, dest_dir: Path) -> None:
    """Download a national file as it is: ``filosofi``, ``bpe``, ``bnlc``, ``qpv``, ``mobpro``."""
    url = {
        "filosofi": fetcher.urls.filosofi,
        "bpe": fetcher.urls.bpe,
        "bnlc": fetcher.urls.bnlc,
        "qpv": fetcher.urls.qpv,
        "mobpro": fetcher.urls.mobpro,
    }[name]
    filename = "bnlc.csv" if name == "bnlc" else None
    record = fetcher.get(url, dest_dir / name, filename=filename, label=name.upper())
    fetcher.result._add(name, record.path, record.manifest_entry())
