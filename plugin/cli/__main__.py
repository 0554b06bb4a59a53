"""`python -m plugin.cli ...`: the same command line as the `statushub` console script."""

from plugin.cli import main

main(prog_name="statushub")
