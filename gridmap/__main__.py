"""``python -m gridmap``: the ``gridmap`` command line, for when the script is not on the PATH."""

from gridmap.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main(prog_name="gridmap")
