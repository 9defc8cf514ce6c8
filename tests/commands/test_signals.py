"""Signals around commands' work: Ctrl-C held while final outputs are written, SIGTERM as Ctrl-C."""

import os
import signal

import pytest

from texsynth.commands.signals import interrupts_held, sigterm_interrupts


def test_a_ctrl_c_is_held_until_the_block_ends():
    before = signal.getsignal(signal.SIGINT)
    written = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            written.append("final.png")  # still runs: the Ctrl-C waits
    assert written == ["final.png"] and signal.getsignal(signal.SIGINT) is before


def test_without_a_ctrl_c_the_block_just_runs():
    before = signal.getsignal(signal.SIGINT)
    with interrupts_held():
        pass
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_ctrl_c_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_held():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_sigterm_stops_the_work_as_ctrl_c_does():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
