"""Run the `listen` command as `python -m service`."""

from service.cli import main

main()
