"""``python -m optviz``: the ``optviz`` command, where its script is not on the
PATH (a venv that is not activated, a notebook's ``!python -m optviz ...``)."""

from optviz.cli import program

program()
