"""The `texsynth` dispatcher: help, unknown commands, one-line errors, Ctrl-C mapping."""

import subprocess
import sys

import pytest

from texsynth.commands.args import ArgumentParser
from texsynth.commands.main import main, run_guarded
from texsynth.errors import TexsynthError
from tests.conftest import ROOT


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("synth", "dream", "cppn", "vae"):
        assert f"  {command} " in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_unknown_command(capsys):
    assert main(["paint"]) == 2
    assert capsys.readouterr().err.strip() == "texsynth: error: unknown command 'paint' (choose from synth, dream, cppn, vae, batch)"


def test_user_errors_become_one_line_and_status_1(capsys):
    def broken(argv):
        raise TexsynthError("the source is missing")

    assert run_guarded(broken, [], "texsynth x") == 1
    assert capsys.readouterr().err == "texsynth x: error: the source is missing\n"


def test_ctrl_c_is_status_130(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_guarded(interrupted, [], "texsynth x") == 130
    assert "interrupted" in capsys.readouterr().err


def test_programming_errors_are_not_hidden():
    def bug(argv):
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_guarded(bug, [], "texsynth x")


def test_argument_errors_are_one_line(capsys):
    parser = ArgumentParser(prog="texsynth x")
    parser.add_argument("--size", type=int, required=True)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--size", "big"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("texsynth x: error: argument --size") and "--help" in err


@pytest.mark.parametrize("argv", [["synthesize.py", "--help"], ["synthesize.py", "-s", "x.jpg", "-ow", "0"],
                                  ["-m", "texsynth", "dream", "--help"], ["-m", "texsynth", "vae", "train", "--size", "3"],
                                  ["-m", "texsynth", "cppn", "--help"]])
def test_help_and_flag_errors_answer_without_tensorflow(argv):
    # Flags are parsed before any numerical stack loads, so --help and typos answer at once.
    probe = ("import runpy, sys; sys.argv = {argv!r}; "
             "code = 0\ntry:\n    runpy.run_{kind}({target!r}, run_name='__main__')\n"
             "except SystemExit as exit_:\n    code = exit_.code\n"
             "print('TF' if 'tensorflow' in sys.modules else 'no TF', code)")
    if argv[0] == "-m":
        source = probe.format(argv=argv[1:], kind="module", target=argv[1])
    else:
        source = probe.format(argv=argv, kind="path", target=str(ROOT / argv[0]))
    out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, cwd=ROOT, timeout=60)
    last = out.stdout.strip().splitlines()[-1]
    assert last in ("no TF 0", "no TF 2"), (last, out.stderr[-500:])
    assert last.endswith("0") == ("--help" in argv)
