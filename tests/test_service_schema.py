"""schemathesis against the service's OpenAPI spec: no server error, no response that breaks
the schema (status codes, content types, bodies), for each role's token."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from servicekit import BACKENDS, PERSON, Instance, database_url, running, seed, workspace_copy

from parcours.service import ServiceSettings

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest,
    demo_loaded: tuple[Any, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Instance]]:
    folder = tmp_path_factory.mktemp(f"schema-{request.param}")
    home = workspace_copy(demo_loaded[0].home, folder / "home")
    with database_url(request.param, folder) as url:
        instance = seed(ServiceSettings(home=home, database_url=url))
        with running(instance.settings) as http:
            advisor = instance.headers("advisor_a")
            for name in ("Schéma", "Contrat"):  # people 1 and 2, of platform A
                body = {
                    "first_name": "Léa",
                    "last_name": name,
                    "legal_basis": "mission_interet_public",
                    "person": PERSON,
                }
                assert http.post("/api/persons", json=body, headers=advisor).status_code == 201
            yield str(http.base_url), instance


#: Generated requests per operation (raise it to search harder: PARCOURS_SCHEMA_EXAMPLES=80).
EXAMPLES = int(os.environ.get("PARCOURS_SCHEMA_EXAMPLES", "12"))

ROLES = ("advisor_a", "prescriber_a", "committee_a", "planner", "admin")


def _check(
    operation: Any, base: str, instance: Instance, seen: dict[str, set[int]]
) -> Callable[[], None]:
    """A Hypothesis test of one operation: its generated requests, as each role."""
    name = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        for who in ROLES:
            answer = case.call_and_validate(
                base_url=base, headers=instance.headers(who), checks=CHECKS
            )
            seen.setdefault(name, set()).add(answer.status_code)

    return check  # type: ignore[no-any-return]


@pytest.mark.hypothesis  # make fuzz explores it at random
@pytest.mark.slow  # 1,680 generated requests to a running server, per database
def test_the_api_keeps_its_schema(served: tuple[str, Instance]) -> None:
    """Every operation of the spec, generated requests, as each role."""
    base, instance = served
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # last: an admin's generated PATCH may disable the other roles' accounts (and tokens)
    operations.sort(key=lambda o: (o.method.upper(), o.path) == ("PATCH", "/api/users/{user_id}"))
    assert len(operations) == 28
    seen: dict[str, set[int]] = {}
    for operation in operations:
        _check(operation, base, instance, seen)()
    # the generated requests reached the people too, not only the refusals
    assert 200 in seen["GET /api/persons/{person_id}"], seen["GET /api/persons/{person_id}"]
    assert 404 in seen["GET /api/persons/{person_id}"]
    assert set(seen) == {f"{o.method.upper()} {o.path}" for o in operations}
