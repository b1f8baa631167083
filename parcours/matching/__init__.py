"""parcours.matching (see DESIGN.md)."""

__all__: list[str] = []
