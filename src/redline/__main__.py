"""`python -m redline`: the same command line as the `redline` script."""

from redline.cli import entry

if __name__ == "__main__":  # not when a spawned worker process imports this module (report/fleet_section.py)
    entry()
