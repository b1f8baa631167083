"""parcours.diagnostic (see DESIGN.md)."""

__all__: list[str] = []
