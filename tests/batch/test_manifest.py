"""texsynth/batch/manifest.py: CSV, JSON Lines and folders -> validated jobs; every form error names its row."""

import argparse
import json
import os
from pathlib import Path

import pytest

from texsynth.batch import manifest
from texsynth.batch.manifest import ManifestError, read_jobs, select_shard
from texsynth.commands import synth


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str, name: str = "jobs.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def _flag(job, name):
    """The value of ``--name=value`` in a job's argv (the last one wins, as in argparse)."""
    values = [token.split("=", 1)[1] for token in job.argv if token.startswith(f"--{name}=")]
    return values[-1] if values else None


def test_csv_rows_become_synth_command_lines(csv_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    jobs = read_jobs(csv_file("source,output,output-width,max-iter,random-seed,quiet\n"
                              "a.png,out/a.png,64,,7,yes\n"
                              "\n"
                              "# a comment line\n"
                              "a.png; b.png,out/ab.png,,20,,\n"))
    assert [job.label for job in jobs] == ["row 1 (line 2)", "row 2 (line 5)"]
    first, second = jobs
    assert first.output == tmp_path / "out" / "a.png" and first.output.is_absolute()
    assert first.settings["source"] == [str(tmp_path / "a.png")]
    assert first.settings["output_width"] == 64 and first.settings["max_iter"] == 500  # empty cell: the default
    assert first.random_seed == 7 and not first.seed_derived
    assert "quiet" not in first.settings  # does not change the pixels
    assert second.settings["source"] == [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert second.settings["max_iter"] == 20 and second.settings["output_width"] == 512
    # Every argv parses with synth's own parser into the same settings.
    args = synth.build_parser().parse_args(list(second.argv))
    assert args.output == str(tmp_path / "out" / "ab.png") and args.max_iter == 20
    assert args.data_dir == str(tmp_path / "model_data")  # defaulted paths are made absolute too
    assert "data_dir" not in second.settings and second.settings["weights"].endswith(".weights.h5")


def test_the_weights_in_the_settings_are_the_file_they_select(csv_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bundled = read_jobs(csv_file("source,output\ns.png,o.png\n"))[0]
    (tmp_path / "w.h5").write_bytes(b"")
    given = read_jobs(csv_file("source,output,weights\ns.png,o.png,w.h5\n"))[0]
    missing = read_jobs(csv_file("source,output,weights\ns.png,o.png,vgg19\n"))[0]
    assert bundled.settings["weights"].endswith("hed_bsds500.weights.h5")
    assert given.settings["weights"] == str(tmp_path / "w.h5")
    assert missing.settings["weights"] == f"vgg19 (not found; data dir {tmp_path / 'model_data'})"


def test_command_line_flags_are_defaults_that_rows_override(csv_file):
    path = csv_file("source,output,max-iter,source-scale\n/s.png,/o/1.png,,\n/s.png,/o/2.png,5,0.5\n")
    jobs = read_jobs(path, {"max-iter": "30", "layers": ["2", "7", "12"], "source-width": "100"})
    assert jobs[0].settings["max_iter"] == 30 and jobs[0].settings["layers"] == ["2", "7", "12"]
    assert jobs[0].settings["source_width"] == 100
    # The row's --source-scale replaces the default --source-width (they exclude each other).
    assert jobs[1].settings["max_iter"] == 5 and jobs[1].settings["source_scale"] == 0.5
    assert jobs[1].settings["source_width"] is None


def test_command_line_source_is_a_default_too(csv_file):
    jobs = read_jobs(csv_file("output\n/o/1.png\n"), {"source": ["/s.png"]})
    assert jobs[0].settings["source"] == ["/s.png"]


def test_jsonl_takes_lists_numbers_booleans_and_null(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"source": ["/a.png", "/b.png"], "output": "/o/x.png", "max_iter": 12,
                                "mul": 1.5, "quiet": True, "random-seed": None}) + "\n\n"
                    + json.dumps({"source": "/a.png", "output": "/o/y.gif", "count": 2}) + "\n")
    first, second = read_jobs(path)
    assert first.settings["source"] == ["/a.png", "/b.png"] and first.settings["max_iter"] == 12
    assert first.settings["mul"] == 1.5 and first.seed_derived
    assert second.label == "row 2 (line 3)" and second.settings["count"] == 2


def test_folder_of_images_gives_one_job_per_image(tmp_path):
    folder = tmp_path / "sources"
    folder.mkdir()
    for name in ("b.jpg", "a.png", "notes.txt"):
        (folder / name).write_bytes(b"")
    jobs = read_jobs(folder, {"max-iter": "3"}, output_dir=str(tmp_path / "out"))
    assert [job.output for job in jobs] == [tmp_path / "out" / "a.png", tmp_path / "out" / "b.png"]
    assert [job.label for job in jobs] == ["a.png", "b.jpg"]
    animated = read_jobs(folder, {"count": "2"}, output_dir=str(tmp_path / "out"))
    assert animated[0].output.suffix == ".gif"
    with pytest.raises(ManifestError, match="--output-dir"):
        read_jobs(folder)
    with pytest.raises(ManifestError, match="a.png would overwrite its own source"):
        read_jobs(folder, output_dir=str(folder))


def test_a_missing_source_is_not_a_form_error(csv_file):
    # It fails as a job, alone, when it runs.
    jobs = read_jobs(csv_file("source,output\n/no/such.png,/o/1.png\n"))
    assert jobs[0].settings["source"] == ["/no/such.png"]


def test_derived_seeds_are_stable_and_differ_between_outputs(csv_file):
    text = "source,output\n/s.png,/o/1.png\n/s.png,/o/2.png\n"
    first = read_jobs(csv_file(text))
    again = read_jobs(csv_file(text, "again.csv"))
    assert [job.random_seed for job in first] == [job.random_seed for job in again]
    assert first[0].random_seed != first[1].random_seed
    assert all(job.seed_derived and _flag(job, "random-seed") == str(job.random_seed) for job in first)
    assert 0 <= first[0].random_seed < 2**31


def test_derived_seeds_do_not_depend_on_the_current_folder(csv_file, tmp_path, monkeypatch):
    path = csv_file("source,output\ns.png,o/1.png\n")
    seeds = []
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        job = read_jobs(path)[0]
        assert job.output == tmp_path / folder / "o" / "1.png"  # paths are taken from the current folder
        seeds.append(job.random_seed)
    assert seeds[0] == seeds[1]


BAD = {
    "unknown column": ("source,output,max-iters\n/s.png,/o.png,3\n", "line 1 (header): unknown column 'max-iters' "
                                                                      "(did you mean 'max-iter'?)"),
    "refused value": ("source,output,max-iter\n/s.png,/o.png,3\n/s.png,/p.png,0\n",
                      "row 2 (line 3): argument --max-iter/-m: must be positive, got 0"),
    "refused choice": ("source,output,padding-mode\n/s.png,/o.png,wrap\n", "row 1 (line 2): argument --padding-mode"),
    "no output": ("source,output\n/s.png,\n", "row 1 (line 2): no output"),
    "no source": ("source,output\n,/o.png\n", "row 1 (line 2): no source"),
    "bad boolean": ("source,output,quiet\n/s.png,/o.png,maybe\n", "column 'quiet': expected true or false"),
    "run-folder flag": ("source,output,save-every\n/s.png,/o.png,5\n", "'save-every' does not apply"),
    "same output twice": ("source,output\n/s.png,/o.png\n/t.png,/o.png\n",
                          "row 2 (line 3): output /o.png is also the output of row 1 (line 2)"),
    "contradicting flags": ("source,output,count\n/s.png,/o.png,2\n", "row 1 (line 2): with --count > 1"),
    "no image extension": ("source,output\n/s.png,/o.txt\n", "no image extension"),
    "output over its source": ("source,output\n/a.png;/s.png,/s.png\n", "output /s.png would overwrite its own source"),
    "too many cells": ("source,output\n/s.png,/o.png,9\n", "3 cells but the header names 2 columns"),
    "no rows": ("source,output\n", "no jobs"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_form_errors_name_the_row(csv_file, case):
    text, message = BAD[case]
    with pytest.raises(ManifestError) as error:
        read_jobs(csv_file(text))
    assert message in str(error.value)
    assert len(str(error.value).splitlines()) == 1


def test_jsonl_errors_name_the_row(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"source": "/s.png", "output": "/o.png"}\n{"source": "/s.png", "output": "/p.png", "colour": 1}\n')
    with pytest.raises(ManifestError, match=r"jobs.jsonl row 2 \(line 2\): unknown column 'colour'"):
        read_jobs(path)
    path.write_text('{"source": "/s.png", "output": "/o.png"}\n[1, 2]\n')
    with pytest.raises(ManifestError, match="row 2 .*expected a JSON object"):
        read_jobs(path)
    path.write_text('{"source": "/s.png", "output": ["/o.png", "/p.png"]}\n')
    with pytest.raises(ManifestError, match="row 1 .*takes one value"):
        read_jobs(path)


def test_bad_defaults_are_reported_without_a_row(csv_file):
    with pytest.raises(ManifestError) as error:
        read_jobs(csv_file("source,output\n/s.png,/o.png\n"), {"max-iter": "0"})
    assert str(error.value) == "argument --max-iter/-m: must be positive, got 0"


def test_columns_follow_synths_parser(csv_file, monkeypatch):
    """A flag added to synth becomes a column without any change here."""
    build = synth.build_parser

    def with_new_flags(prog="synthesize.py"):
        parser = build(prog)
        parser.add_argument("--spectrum-guess", type=float, default=0.0)
        parser.add_argument("--fancy", action=argparse.BooleanOptionalAction, default=True)
        return parser

    monkeypatch.setattr(synth, "build_parser", with_new_flags)
    jobs = read_jobs(csv_file("source,output,spectrum-guess,fancy\n/s.png,/o.png,0.25,no\n"))
    assert jobs[0].settings["spectrum_guess"] == 0.25 and jobs[0].settings["fancy"] is False
    assert "spectrum-guess" in manifest.columns()
    assert not set(manifest.EXCLUDED_COLUMNS) - set(manifest.columns())  # they are synth flags, refused here


def test_default_flags_mirror_synths_flags():
    parser = argparse.ArgumentParser()
    manifest.add_default_flags(parser.add_argument_group("defaults"))
    args = parser.parse_args(["-m", "7", "--layers", "2", "7", "--padding-mode", "same", "-s", "a.png", "b.png"])
    assert manifest.default_values(args) == {"max-iter": "7", "layers": ["2", "7"], "padding-mode": "same",
                                             "source": ["a.png", "b.png"]}
    for excluded in ("--output", "--output-dir", "--save-every", "--quiet"):
        with pytest.raises(SystemExit):
            parser.parse_args([excluded, "x"])


def test_shards_cover_every_job_once(csv_file):
    jobs = read_jobs(csv_file("source,output\n" + "".join(f"/s.png,/o/{i}.png\n" for i in range(7))))
    shards = [select_shard(jobs, index, 3) for index in range(3)]
    assert sorted(job.index for shard in shards for job in shard) == list(range(7))
    assert [job.index for job in shards[1]] == [1, 4]
    with pytest.raises(ValueError):
        select_shard(jobs, 3, 3)


def test_paths_starting_with_a_dash_and_home(csv_file, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    jobs = read_jobs(csv_file("source,output\n~/s.png,-o.png\n"))
    assert jobs[0].settings["source"] == [str(tmp_path / "s.png")]
    assert jobs[0].output == Path(os.getcwd()) / "-o.png"
