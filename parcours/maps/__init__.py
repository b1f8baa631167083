"""parcours.maps (see DESIGN.md)."""

__all__: list[str] = []
