"""`python -m bot.cli`: the same as the `surveybot` command."""

import sys

from bot.cli import main

sys.exit(main(sys.argv[1:]))
