"""parcours.accessibility (see DESIGN.md)."""

__all__: list[str] = []
