"""The beneficiary's mobility profile ("test mobilité") and the person file.

A person file is YAML with three keys, ``domicile``, ``destinations`` and ``profil``
(:class:`PersonFile`); every field is validated and an unknown or invalid value is refused
with its name and the allowed values (:func:`read_person_file`). The questions an advisor
asks to fill the profile, in plain French, are in ``parcours/matching/data/
questionnaire.yaml`` (:func:`questionnaire`), one per field.

:func:`barriers` turns a profile into the barriers the person faces, in the five families
of the mobility assessment (financier, matériel, compétences, physique, psychologique);
the rules are the table :data:`BARRIER_RULES`, documented one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parcours.errors import InputError
from parcours.i18n import tr
from parcours.matching._text import t
from parcours.matching.schedule import Shift, parse_schedule

__all__ = [
    "BARRIER_RULES",
    "Barrier",
    "Destination",
    "Licence",
    "Motive",
    "PersonFile",
    "Place",
    "Profile",
    "Status",
    "barriers",
    "pydantic_message",
    "questionnaire",
    "read_person_file",
]


class Status(StrEnum):
    """The person's situation (``statut``)."""

    JOB_SEEKER = "demandeur_emploi"
    EMPLOYEE = "salarie"
    RSA = "rsa"
    YOUNG = "jeune"
    SENIOR = "senior"
    DISABLED_WORKER = "travailleur_handicape"
    STUDENT = "etudiant"


class Licence(StrEnum):
    """The driving licence held (``permis``)."""

    NONE = "aucun"
    AM = "AM"
    B = "B"
    LEARNING_B = "B_en_cours"
    SUSPENDED_B = "B_suspendu"


class Motive(StrEnum):
    """Why the person goes there (``motif``)."""

    JOB = "emploi"
    TRAINING = "formation"
    INTERVIEW = "entretien"
    INTERNSHIP = "stage"
    ERRAND = "demarche"
    HEALTH = "sante"
    OTHER = "autre"


class Contract(StrEnum):
    """The contract of a job destination (France Travail's aids depend on it)."""

    CDI = "cdi"
    CDD_3_MONTHS = "cdd_3_mois_et_plus"
    CDD_SHORT = "cdd_court"
    TEMPORARY = "interim"
    OTHER = "autre"


class Digital(StrEnum):
    """Digital skills (``competences_numeriques``)."""

    NONE = "aucune"
    BASIC = "basiques"
    AUTONOMOUS = "autonome"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False, frozen=True)


class Place(_Strict):
    """An address or a point: ``{adresse: "..."}`` or ``{lon: .., lat: ..}`` (WGS84)."""

    adresse: str | None = None
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)

    @model_validator(mode="after")
    def _one_form(self) -> Place:
        has_point = self.lon is not None or self.lat is not None
        if has_point and (self.lon is None or self.lat is None):
            raise ValueError("lon et lat vont ensemble / lon and lat go together")
        if not has_point and not (self.adresse and self.adresse.strip()):
            raise ValueError("une adresse ou lon et lat / an address or lon and lat")
        return self


class Destination(Place):
    """A place the person must reach on a weekly schedule."""

    nom: str = Field(min_length=1)
    motif: Motive = Motive.JOB
    horaires: str
    contrat: Contract | None = None

    @field_validator("horaires")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @property
    def shifts(self) -> list[Shift]:
        """The parsed schedule."""
        return parse_schedule(self.horaires)


class Bike(_Strict):
    """The person and the bicycle."""

    sait_rouler: bool = False
    possede: bool = False
    electrique: bool = False
    roule_de_nuit: bool = False


class Profile(_Strict):
    """The answers of the mobility assessment (all optional but ``age`` and ``statut``).

    Defaults are the cautious answer (no licence, no vehicle, cannot ride a bike) except
    where the common case is the safe one (uses public transport alone, reads a map).
    """

    age: int = Field(ge=14, le=110)
    statut: Status
    inscrit_depuis_mois: int | None = Field(default=None, ge=0, le=600)
    #: registered with France Travail (default: yes for a job seeker, no otherwise); an RSA
    #: recipient or a young person may be registered too (France Travail's aids then apply)
    inscrit_france_travail: bool | None = None
    permis: Licence = Licence.NONE
    voiture: bool = False
    deux_roues: bool = False
    velo: Bike = Bike()
    transports_seul: bool = True
    lit_carte_horaires: bool = True
    competences_numeriques: Digital = Digital.BASIC
    fauteuil_roulant: bool = False
    mobilite_reduite: bool = False
    marche_max_min: int = Field(default=15, ge=0, le=120)
    trajet_max_min: int = Field(default=90, ge=10, le=240)
    budget_mois_eur: float = Field(default=50.0, ge=0)
    revenu_mois_eur: float | None = Field(default=None, ge=0)
    quitte_son_quartier: bool = True
    enfants_a_deposer: bool = False

    @property
    def registered(self) -> bool:
        """Registered with France Travail (``inscrit_france_travail``, else by the status)."""
        if self.inscrit_france_travail is not None:
            return self.inscrit_france_travail
        return self.statut is Status.JOB_SEEKER

    @property
    def drives(self) -> bool:
        """Holds a valid car licence."""
        return self.permis is Licence.B

    @property
    def rides_scooter(self) -> bool:
        """Holds a licence for a 50 cc scooter (AM, or B which includes it)."""
        return self.permis in (Licence.AM, Licence.B)

    def may_ride_scooter(self, year: int) -> bool:
        """May ride a 50 cc scooter in ``year``: licence AM or B, or born before 1988.

        The AM licence (ex-BSR) is required of everyone born from 1 January 1988 on; with
        only an age, someone is known to be born before 1988 when ``year - age <= 1987``
        (a person who may be born in 1988 is asked for the licence).
        """
        return self.rides_scooter or year - self.age <= 1987

    @property
    def may_cycle(self) -> bool:
        """Can ride a bike and nothing physical stops it."""
        return self.velo.sait_rouler and not self.fauteuil_roulant and not self.mobilite_reduite


class PersonFile(_Strict):
    """A person file: home, destinations, profile (the fixed names other tools read)."""

    domicile: Place
    destinations: list[Destination] = Field(min_length=1)
    profil: Profile
    id: str | None = None


#: pydantic's error types, said in French (``{ctx key}`` filled from the error's context).
_PYDANTIC_FR: dict[str, tuple[str, str]] = {
    "too_short": (
        "au moins {min_length} élément(s) attendu(s)", "at least {min_length} item(s) expected"
    ),
    "int_parsing": ("nombre entier attendu", "a whole number expected"),
    "int_from_float": ("nombre entier attendu", "a whole number expected"),
    "float_parsing": ("nombre attendu", "a number expected"),
    "bool_parsing": ("oui ou non attendu (true/false)", "yes or no expected (true/false)"),
    "string_type": ("texte attendu", "text expected"),
    "string_too_short": ("texte vide", "empty text"),
    "string_pattern_mismatch": (
        "caractères permis : lettres, chiffres, - _ .", "allowed: letters, digits, - _ ."
    ),
    "greater_than_equal": ("au moins {ge}", "at least {ge}"),
    "greater_than": ("plus de {gt}", "more than {gt}"),
    "less_than_equal": ("au plus {le}", "at most {le}"),
    "date_from_datetime_parsing": ("date AAAA-MM-JJ attendue", "a YYYY-MM-DD date expected"),
    "date_parsing": ("date AAAA-MM-JJ attendue", "a YYYY-MM-DD date expected"),
    "list_type": ("liste attendue", "a list expected"),
    "dict_type": ("ensemble de champs attendu", "a mapping of fields expected"),
    "model_type": ("ensemble de champs attendu", "a mapping of fields expected"),
}  # fmt: skip


def pydantic_message(error: ValidationError, source: str | None = None) -> str:
    """A French (or English) message naming each invalid field and the allowed values.

    ``source`` prefixes each line (a file, a request body); None when the error is raised
    with its file and row already (:class:`~parcours.errors.InputError` shows them).
    """
    lines = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"]) or "·"
        kind = item["type"]
        ctx = item.get("ctx") or {}
        given = item.get("input")
        if kind == "extra_forbidden":
            text = t("champ inconnu", "unknown field")
        elif kind == "missing":
            text = t("champ obligatoire manquant", "required field missing")
        elif kind == "enum":
            expected = str(ctx.get("expected", ""))
            text = t(
                f"valeur « {given} » refusée, valeurs possibles : "
                f"{expected.replace(' or ', ' ou ')}",
                f"value '{given}' refused, allowed: {expected}",
            )
        elif kind in _PYDANTIC_FR:
            fr, en = _PYDANTIC_FR[kind]
            text = t(
                f"valeur « {given} » refusée : {fr.format(**ctx)}",
                f"value '{given}' refused: {en.format(**ctx)}",
            )
        else:
            detail = str(item["msg"]).removeprefix("Value error, ")
            if " / " in detail:  # our validators write "français / English"
                fr_part, _, en_part = detail.partition(" / ")
                detail = t(fr_part, en_part)
            text = t(f"valeur refusée : {detail}", f"value refused: {detail}")
        lines.append(f"{source} : {loc} : {text}" if source else f"{loc} : {text}")
    return "\n".join(lines)


def read_person_file(path: Path | str) -> PersonFile:
    """Read and validate a person's YAML file.

    Raises
    ------
    InputError
        When the file cannot be read or a field is unknown or invalid (each one named,
        with the allowed values).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(
            tr(f"{path} : lecture impossible ({exc})", f"{path}: cannot read ({exc})")
        ) from exc
    except yaml.YAMLError as exc:
        raise InputError(
            tr(f"{path} : YAML invalide ({exc})", f"{path}: invalid YAML ({exc})"), file=path
        ) from exc
    return person_from_mapping(data, source=str(path))


def person_from_mapping(data: Any, *, source: str) -> PersonFile:
    """Validate a person given as a mapping (a parsed YAML file or a JSON request)."""
    if not isinstance(data, Mapping):
        raise InputError(
            tr(
                f"{source} : attendu les clés domicile, destinations et profil",
                f"{source}: expected the keys domicile, destinations and profil",
            )
        )
    try:
        return PersonFile.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError(pydantic_message(exc, source)) from exc
    except InputError as exc:  # a schedule refused inside a validator
        raise InputError(f"{source} : {exc}") from exc


class Barrier(BaseModel):
    """One barrier the person faces: its family, a code and a plain French text."""

    model_config = ConfigDict(frozen=True)

    categorie: str
    code: str
    texte: str


#: (family, code, test, French text, English text). A family is one of the assessment's
#: five: financier (money), materiel (licence, vehicle), competences (skills: reading a
#: timetable, digital, riding), physique (health, reduced mobility), psychologique
#: (leaving one's neighbourhood, travelling alone).
BARRIER_RULES: tuple[tuple[str, str, Callable[[Profile], bool], str, str], ...] = (
    ("materiel", "sans_permis", lambda p: p.permis in (Licence.NONE, Licence.AM),
     "pas de permis de conduire B", "no car driving licence"),
    ("materiel", "permis_en_cours", lambda p: p.permis is Licence.LEARNING_B,
     "permis B en cours de préparation", "car licence being prepared"),
    ("materiel", "permis_suspendu", lambda p: p.permis is Licence.SUSPENDED_B,
     "permis B suspendu", "car licence suspended"),
    ("materiel", "sans_voiture", lambda p: p.drives and not p.voiture,
     "permis B mais pas de voiture", "car licence but no car"),
    ("materiel", "sans_velo", lambda p: p.may_cycle and not p.velo.possede,
     "sait rouler à vélo mais n'en possède pas", "can ride a bike but owns none"),
    ("competences", "ne_sait_pas_rouler",
     lambda p: not p.velo.sait_rouler and not p.fauteuil_roulant and not p.mobilite_reduite,
     "ne sait pas rouler à vélo", "cannot ride a bike"),
    ("competences", "pas_de_nuit", lambda p: p.may_cycle and not p.velo.roule_de_nuit,
     "ne roule pas à vélo de nuit", "does not ride at night"),
    ("competences", "lecture_horaires", lambda p: not p.lit_carte_horaires,
     "difficultés à lire un plan ou une fiche horaire", "difficulty reading a map or a timetable"),
    ("competences", "numerique", lambda p: p.competences_numeriques is Digital.NONE,
     "pas d'usage du numérique (réservations, applications)", "no digital skills (bookings, apps)"),
    ("physique", "fauteuil", lambda p: p.fauteuil_roulant,
     "se déplace en fauteuil roulant", "wheelchair user"),
    ("physique", "mobilite_reduite", lambda p: p.mobilite_reduite and not p.fauteuil_roulant,
     "mobilité réduite", "reduced mobility"),
    ("physique", "marche_courte", lambda p: p.marche_max_min < 10,
     "ne peut marcher que quelques minutes", "can walk only a few minutes"),
    ("psychologique", "transports_seul", lambda p: not p.transports_seul,
     "n'utilise pas les transports en commun seul(e)", "does not use public transport alone"),
    ("psychologique", "quartier", lambda p: not p.quitte_son_quartier,
     "sort difficilement de son quartier", "rarely leaves the neighbourhood"),
    ("financier", "budget", lambda p: p.budget_mois_eur < 30,
     "budget mobilité de moins de 30 € par mois", "mobility budget under 30 EUR a month"),
    ("financier", "minima_sociaux", lambda p: p.statut is Status.RSA,
     "bénéficiaire du RSA", "receives the RSA minimum income"),
    ("materiel", "enfants", lambda p: p.enfants_a_deposer,
     "enfants à déposer sur le trajet", "children to drop off on the way"),
)  # fmt: skip


def barriers(profile: Profile) -> list[Barrier]:
    """The barriers of a profile, by the rules of :data:`BARRIER_RULES`, in their order."""
    return [
        Barrier(categorie=family, code=code, texte=str(tr(fr, en)))
        for family, code, test, fr, en in BARRIER_RULES
        if test(profile)
    ]


@cache
def questionnaire() -> dict[str, Any]:
    """The "test mobilité" questionnaire: one question per profile field (French, English)."""
    text = (
        resources.files("parcours.matching").joinpath("data/questionnaire.yaml").read_text("utf-8")
    )
    data: dict[str, Any] = yaml.safe_load(text)
    return data
