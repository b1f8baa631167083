"""``python -m parcours`` is the ``parcours`` command."""

from parcours.cli import main

main()
