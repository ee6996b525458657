"""``python -m orgkit``: the command line."""

from orgkit.cli.main import main

main()
