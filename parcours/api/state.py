"""The warm transport networks one service process shares between its requests."""

from __future__ import annotations

import threading
from typing import Any

from parcours.territories import Workspace

__all__ = ["NetworkCache"]


class NetworkCache:
    """One transport network (and carpool index) per territory and process.

    Loaded on first use (or warmed at start-up by the lifespan) and shared by every
    request; reloaded when the territory's manifest changes (a new load).
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._lock = threading.Lock()
        self._networks: dict[str, tuple[Any, Any, Any]] = {}

    def get(self, name: str) -> tuple[Any, Any]:
        """The territory's network and carpool index."""
        from parcours.accessibility import TransportNetwork
        from parcours.matching import carpool_index_of

        territory = self.workspace.open(name)
        stamp = territory.manifest.get("updated")
        with self._lock:
            known = self._networks.get(name)
            if known is None or known[0] != stamp:
                network = TransportNetwork(territory)
                known = (stamp, network, carpool_index_of(network))
                self._networks[name] = known
        return known[1], known[2]

    def loaded(self) -> list[str]:
        """The territories whose network is in memory."""
        with self._lock:
            return sorted(self._networks)
