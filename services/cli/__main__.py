"""``python -m services.cli`` = ``stride``."""

from services.cli.commands import main

main()
