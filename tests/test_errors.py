"""Errors carry code, params and the Python field; the edge renders and maps them."""

from __future__ import annotations

import pickle

from parcours.errors import (
    OUTCOMES,
    DownloadError,
    GtfsError,
    InputError,
    ParcoursError,
    TerritoryNotFoundError,
    WorkspaceError,
    outcome,
)
from parcours.i18n import language, tr


def test_error_keeps_code_params_field_and_renders_with_the_edge_names() -> None:
    error = InputError(
        tr("doit être positif", "must be positive"),
        field="max_time",
        code="input.not_positive",
        params={"value": -3},
    )
    assert error.code == "input.not_positive" and InputError.code == "input.invalid"
    assert error.params == {"value": -3} and error.field == "max_time"
    assert error.render("en") == "field 'max_time': must be positive"
    assert error.render("fr", {"max_time": "--max-time"}) == (
        "champ « --max-time » : doit être positif"
    )
    with language("en"):
        assert str(error) == "field 'max_time': must be positive"
    assert GtfsError("x").code == "input.gtfs"


def test_one_table_gives_exit_codes_and_http_statuses() -> None:
    assert outcome(GtfsError("x")).exit_code == 2  # type: ignore[union-attr]
    assert outcome(TerritoryNotFoundError("x")).http_status == 404  # type: ignore[union-attr]
    assert outcome(WorkspaceError("x")).exit_code == 1  # type: ignore[union-attr]
    assert outcome(DownloadError("x")).exit_code == 1  # type: ignore[union-attr]
    assert outcome(PermissionError("x")).exit_code == 1  # type: ignore[union-attr]
    assert outcome(ValueError("x")) is None
    assert all(issubclass(cls, BaseException) for cls in OUTCOMES)


def test_os_error_subclasses_render_their_message() -> None:
    error = WorkspaceError(tr("verrou occupé", "lock held"))
    assert isinstance(error, OSError) and isinstance(error, ParcoursError)
    with language("en"):
        assert str(error) == "lock held"
    assert str(pickle.loads(pickle.dumps(tr("a", "b")))) == "a"
