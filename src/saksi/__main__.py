"""`python -m saksi` runs the command line."""

from saksi.cli.main import main

main()
