import io

import pytest

from texsynth.progress import Progress, format_duration


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_in_logs_are_throttled_but_the_last_is_kept():
    stream = io.StringIO()
    progress = Progress(100, "synth", stream=stream, log_interval=3600)
    for step in range(1, 101):
        progress.update(step, loss=1.0 / step)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first and the last
    assert "iter 100/100" in lines[-1] and "it/s" in lines[-1] and "ETA" in lines[-1] and "loss 0.01" in lines[-1]
    assert "\r" not in stream.getvalue()


def test_terminal_line_is_redrawn_in_place():
    stream = FakeTTY()
    with Progress(10, stream=stream) as progress:
        progress.update(5, loss=2.0)
        progress.update(6, loss=1.5)
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and "iter 6/10" in text


def test_quiet_prints_nothing():
    stream = io.StringIO()
    Progress(3, stream=stream, quiet=True).update(1)
    assert stream.getvalue() == ""


def test_format_duration():
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"


def test_a_note_gets_a_line_of_its_own():
    stream = FakeTTY()
    with Progress(10, stream=stream) as progress:
        progress.update(5, loss=2.0)
        progress.note("switching")
        progress.update(6, loss=1.5)
    text = stream.getvalue()
    # The live line is cleared, the note ends its own line, and the next update draws below it.
    assert "\r\033[Kswitching\n" in text and text.index("iter 5/10") < text.index("switching") < text.index("iter 6/10")
    plain = io.StringIO()
    Progress(10, stream=plain).note("switching")
    assert plain.getvalue() == "switching\n"


def test_eta_weighs_the_remaining_steps_by_their_cost():
    # Ten steps of cost 1 at 1 s and twenty of cost 2 at 2 s done; ten left that cost ten times the
    # first ones each: 100 s, not 10 s (the plain mean rate) nor 20 s (the latest stage's rate).
    progress = Progress(40, stream=io.StringIO(), costs=[1.0] * 10 + [2.0] * 20 + [10.0] * 10)
    for step in range(1, 31):
        line = progress.line(step, None, "", progress.start + (step if step <= 10 else 10 + 2 * (step - 10)))
    assert "ETA 1:40" in line
    plain = Progress(20, stream=io.StringIO())
    assert "ETA 0:10" in plain.line(10, None, "", plain.start + 10.0)


def test_eta_waits_for_two_timed_stages_before_pricing_untimed_ones():
    # One stage's rate cannot tell a fixed cost per step from one per pixel, and a stage's first
    # steps are slower: no guess until the second stage has ten steps timed, then the rest is priced.
    progress = Progress(60, stream=io.StringIO(), costs=[1.0] * 20 + [4.0] * 20 + [16.0] * 20)
    lines = [progress.line(step, None, "", progress.start + (step if step <= 20 else 20 + 2 * (step - 20)))
             for step in range(1, 32)]
    assert all("ETA ?" in line for line in lines[:30]) and "1.00 it/s" in lines[9]
    # 1 s at cost 1 and 2 s at cost 4: 2/3 s + 1/3 s per unit of cost, so 6 s per step at cost 16;
    # nine steps of 2 s and twenty of 6 s left.
    assert "ETA 2:18" in lines[-1]
    # A single stage needs no fit: its own rate prices it from its second step on.
    single = Progress(20, stream=io.StringIO(), costs=[1.0] * 20, warmup=1)
    single.line(1, None, "", single.start + 5.0)
    assert "ETA 0:17" in single.line(3, None, "", single.start + 7.0)


def test_warmup_steps_are_left_out_of_the_eta():
    # The first step traced the graph for 60 s; the next nine took 1 s each: 90 s remain, not 600.
    progress = Progress(100, stream=io.StringIO(), warmup=1)
    assert "ETA ?" in progress.line(1, None, "", progress.start + 60.0)
    assert "ETA 1:30" in progress.line(10, None, "", progress.start + 69.0)
    # With costs, the rate is the cost done since the warm-up per second.
    weighted = Progress(40, stream=io.StringIO(), costs=[1.0] * 10 + [2.0] * 20 + [10.0] * 10, warmup=1)
    for step in range(1, 31):
        line = weighted.line(step, None, "", weighted.start + 59.0 + (step if step <= 10 else 10 + 2 * (step - 10)))
    assert "ETA 1:40" in line
    # Without a warm-up the slow first step is extrapolated over the run.
    naive = Progress(100, stream=io.StringIO())
    naive.line(1, None, "", naive.start + 60.0)
    assert "ETA 1:30" not in naive.line(10, None, "", naive.start + 69.0)


def test_costs_must_match_the_steps():
    with pytest.raises(ValueError):
        Progress(3, costs=[1.0, 2.0])


def _eta_seconds(line):
    minutes, seconds = line.split("ETA ")[1].split()[0].split(":")[-2:]
    return 60 * int(minutes) + int(seconds)


def test_eta_times_each_stage_on_its_own_and_prices_the_rest_by_a_linear_model():
    # A coarse-to-fine run: four stages whose steps take a fixed 5 ms plus 2.7 us per pixel, each
    # stage's first step also tracing its graph for a second.
    budgets, pixels = [90, 75, 60, 75], [64**2, 128**2, 256**2, 512**2]
    costs = [float(p) for p, b in zip(pixels, budgets) for _ in range(b)]
    clock, times = 0.0, []
    for p, b in zip(pixels, budgets):
        for i in range(b):
            clock += (1.0 if i == 0 else 0.005 + 2.7e-6 * p)
            times.append(clock)
    progress = Progress(len(costs), stream=io.StringIO(), costs=costs, warmup=1)
    for step, now in enumerate(times, 1):
        line = progress.line(step, None, "", progress.start + now)
        left = times[-1] - now
        if step > 100:  # two stages timed: within 5% (the stages still to trace add a few seconds)
            assert abs(_eta_seconds(line) - left) <= 0.05 * left + 3.5, (step, line, left)
        if step == 250:  # the rate shown is the current stage's
            assert f"{1 / (0.005 + 2.7e-6 * 512**2):.2f} it/s" in line


def test_eta_of_the_current_stage_follows_its_latest_steps():
    # The first 20 steps of the last stage take 2 s (more line-search trials), the later ones 1 s.
    progress = Progress(100, stream=io.StringIO(), costs=[1.0] * 10 + [4.0] * 90, warmup=1)
    clock = 0.0
    for step in range(1, 51):
        clock += 0.25 if step <= 10 else (2.0 if step <= 30 else 1.0)
        line = progress.line(step, None, "", progress.start + clock)
    assert _eta_seconds(line) == 50 and "1.00 it/s" in line
