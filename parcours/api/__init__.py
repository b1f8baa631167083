"""parcours.api (see DESIGN.md)."""

__all__: list[str] = []
