#!/usr/bin/env python3
"""Multiscale neural texture synthesis: ``python synthesize.py -s bark.jpg -ow 1024``."""

import sys

from texsynth.commands.main import synthesize_main

if __name__ == "__main__":
    sys.exit(synthesize_main())
