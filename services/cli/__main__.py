"""``python -m services.cli`` = ``stride``."""

from services.cli.app import main

main()
