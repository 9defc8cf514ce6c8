"""``python -m texsynth COMMAND ...``."""

import sys

from texsynth.commands.main import main

sys.exit(main())
