"""``python -m pyparity``: the ``pyparity`` command."""

from pyparity.cli.app import entry

if __name__ == "__main__":
    entry()
