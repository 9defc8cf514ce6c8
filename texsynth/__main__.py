"""``python -m texsynth COMMAND ...``."""

import sys

from texsynth.cli import main

sys.exit(main())
