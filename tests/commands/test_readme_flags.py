"""The README's flag table of synthesize.py and the parser name the same flags, with the same defaults."""

import re

from texsynth.commands.synth import build_parser
from tests.conftest import ROOT


def _table_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Flags", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3:
            for name in re.findall(r"`(--[a-z0-9-]+)", cells[0]):
                rows[name] = cells[1]
    return rows


def test_every_synthesize_flag_is_in_the_readme_table_and_back():
    parser = build_parser()
    flags = {o for a in parser._actions for o in a.option_strings if o.startswith("--")} - {"--help"}
    assert set(_table_rows()) == flags


def test_readme_defaults_of_numeric_flags_match_the_parser():
    parser = build_parser()
    rows = _table_rows()
    for action in parser._actions:
        name = next((o for o in action.option_strings if o.startswith("--")), None)
        if name in rows and isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
            assert float(rows[name].strip("`")) == float(action.default), name
