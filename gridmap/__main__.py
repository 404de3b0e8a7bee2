"""``python -m gridmap`` and the ``gridmap`` script: the command line, with Ctrl-C and SIGTERM handled.

Importing the package already installed the start-up signal handlers (:mod:`gridmap._interrupt`); the
command line itself is imported only in :func:`run`.
"""

__all__ = ["run"]


def run() -> None:
    """Run the ``gridmap`` command line (the console script's entry point)."""
    from gridmap.cli import main

    main(prog_name="gridmap")


if __name__ == "__main__":
    run()
