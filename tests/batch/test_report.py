"""texsynth/batch/report.py: outcomes, the progress line, the summary table, batch.json."""

import io
import json

from texsynth.batch.report import JobsProgress, Outcome, one_line, summary_table, write_report
from texsynth.errors import TexsynthError

OUTCOMES = [
    Outcome(0, "row 1 (line 2)", "/o/a.png", "done", 3.5, worker="local-0"),
    Outcome(1, "row 2 (line 3)", "/o/b.png", "failed", 0.25, "no such file or directory: /s.png", "local-1"),
    Outcome(2, "row 3 (line 4)", "/o/c.png", "skipped"),
    Outcome(3, "row 4 (line 5)", "/o/d.png", "done", 1.5, worker="local-0"),
]


def test_summary_table_counts_and_lists_failures():
    table = summary_table(OUTCOMES, 61.0).splitlines()
    assert table[0].split() == ["status", "jobs", "seconds"]
    assert table[1].split() == ["done", "2", "5.0"]
    assert table[2].split() == ["skipped", "1", "0.0"]
    assert table[3].split() == ["failed", "1", "0.2"]
    assert table[4].split()[:3] == ["total", "4", "5.2"] and "wall 1:01" in table[4]
    assert table[5] == "failed: row 2 (line 3): /o/b.png: no such file or directory: /s.png"
    assert len(table) == 6  # no interrupted / not run rows when there are none


def test_batch_json_holds_every_outcome(tmp_path):
    path = write_report(tmp_path / "batch.json", OUTCOMES, runner="local", workers=2)
    data = json.loads(path.read_text())
    assert data["runner"] == "local" and data["workers"] == 2 and data["ok"] is False
    assert data["counts"] == {"done": 2, "skipped": 1, "failed": 1, "interrupted": 0, "not run": 0}
    assert [job["status"] for job in data["jobs"]] == ["done", "failed", "skipped", "done"]
    assert data["jobs"][1]["error"] == "no such file or directory: /s.png"
    assert not list(tmp_path.glob("*.tmp"))


def test_progress_in_a_log_is_plain_lines():
    stream = io.StringIO()
    progress = JobsProgress(2, stream=stream, log_interval=0)
    progress.add(OUTCOMES[0])
    progress.add(OUTCOMES[1])
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("batch  jobs 1/2  0 failed  ETA ")
    assert lines[1] == "row 2 (line 3) failed: no such file or directory: /s.png"
    assert lines[2].startswith("batch  jobs 2/2  1 failed  ETA 0:00")
    assert "\r" not in stream.getvalue()


def test_progress_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with JobsProgress(3, stream=stream) as progress:
        progress.add(OUTCOMES[0])
        progress.add(OUTCOMES[3])
    text = stream.getvalue()
    assert text.count("\r\033[K") == 2 and text.endswith("\n") and "jobs 2/3" in text


def test_quiet_progress_prints_nothing():
    stream = io.StringIO()
    JobsProgress(1, stream=stream, quiet=True).add(OUTCOMES[1])
    assert stream.getvalue() == ""


def test_one_line():
    assert one_line(TexsynthError("source too small\nmore")) == "source too small"
    assert one_line(RuntimeError("boom\ntraceback")) == "RuntimeError: boom"
    assert one_line(KeyError()) == "KeyError"
