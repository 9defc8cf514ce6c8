"""``texsynth batch``: render many textures from one manifest, on local worker processes or Ray.

The flags are parsed, every row of the manifest is checked with synth's own parser and finished
jobs are skipped before TensorFlow or Ray is loaded, so a bad manifest (exit status 2) or a batch
that is already done answers at once and writes nothing. Then the remaining jobs run; each job's
outcome goes to ``batch.json``, the summary table to standard error, and the paths of the outputs
written to standard output, one a line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

from texsynth.batch import manifest, records
from texsynth.batch.report import JobsProgress, Outcome, summary_table, write_report
from texsynth.commands.args import ArgumentParser, positive
from texsynth.commands.signals import sigterm_interrupts

__all__ = ["build_parser", "default_report", "main"]

LOCAL = "local"  # --ray without an address: start a local Ray instance (texsynth.batch.ray_runner.LOCAL)

EPILOG = """\
JOBS is a CSV file with a header (or .jsonl: one JSON object per line), one job per row:

  source,output,output-width,max-iter,random-seed
  examples/gravel.jpg,out/gravel.png,256,100,1
  examples/brick.jpg;examples/gravel.jpg,out/mix.png,,,

`source` (several: separated by ;) and `output` (the exact file) are required; any other column is
a synthesize.py flag by its long name without dashes, and empty cells take the defaults given here.
A job whose output exists with a matching record beside it is skipped (--force redoes it); a row
without random-seed gets a seed derived from its settings. Exit status 0 when every job succeeded."""


def _shard(text: str) -> tuple[int, int]:
    """argparse type of ``--shard I/N``."""
    index, slash, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 0/4, got {text!r}") from None
    if not slash or n < 1 or not 0 <= i < n:
        raise argparse.ArgumentTypeError(f"need 0 <= I < N, got {text}")
    return i, n


def build_parser(prog: str = "texsynth batch") -> argparse.ArgumentParser:
    """The argument parser: the batch's own flags, then synth's flags as defaults for every row."""
    # No abbreviations: a prefix of a batch flag must not swallow a synth flag.
    p = ArgumentParser(prog=prog, allow_abbrev=False, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       usage="%(prog)s JOBS [--workers N | --ray [ADDRESS]] [--shard I/N] [--force] [SYNTH FLAGS]",
                       description="Render many textures: one synthesis per row of JOBS, on local workers or Ray.")
    p.add_argument("jobs", metavar="JOBS", nargs="?",
                   help="a CSV file with a header, a JSON Lines file, or a folder of source images")
    b = p.add_argument_group("batch")
    b.add_argument("--output-dir", metavar="DIR", help="with a folder of source images: where each NAME.png goes")
    b.add_argument("--workers", type=positive(int),
                   help="local worker processes, each loading TensorFlow once (default: one per GPU, else one); "
                        "with a bare --ray, jobs at a time")
    b.add_argument("--threads", type=positive(int),
                   help="TensorFlow threads per job, and CPUs per Ray task (default: the cores shared among the "
                        "workers; 1 on a Ray cluster). The same seed and threads give the same pixels")
    b.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                   help="one Ray task per job on the cluster at ADDRESS (auto, HOST:PORT, ray://HOST:PORT; "
                        "default: $RAY_ADDRESS); a bare --ray starts a local Ray instance")
    b.add_argument("--local", action="store_true", help="local workers even when RAY_ADDRESS is set")
    b.add_argument("--force", action="store_true", help="redo jobs whose output is already done")
    b.add_argument("--shard", type=_shard, metavar="I/N",
                   help="only every N-th job starting at I (0-based): shards 0/N ... N-1/N cover every job once")
    b.add_argument("--report", metavar="FILE",
                   help="where batch.json goes (default: beside JOBS, or in --output-dir for a folder; "
                        "batch.I-of-N.json with --shard)")
    b.add_argument("--quiet", "-q", action="store_true", help="print only failures and the output paths")
    defaults = p.add_argument_group("defaults for every job", "synthesize.py's flags; a row's own cells win")
    manifest.add_default_flags(defaults)
    return p


def default_report(jobs: Path, output_dir: str | None, shard: tuple[int, int] | None) -> Path:
    """``batch.json`` beside the manifest, or in ``--output-dir`` for a folder of images."""
    folder = Path(output_dir) if jobs.is_dir() and output_dir else jobs.parent
    return folder / ("batch.json" if shard is None else f"batch.{shard[0]}-of-{shard[1]}.json")


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables (those not set already) for the duration; Ray reads them at start."""
    added = {key: value for key, value in values.items() if key not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _run(jobs: list, address: str | None, workers: int, threads: int, gpus: list[str],
         on_outcome: Callable[[Outcome], None], note: Callable[[str], None]) -> None:
    """Run ``jobs`` on local workers (``address`` None) or on Ray; Ray is imported only here."""
    if address is None:
        from texsynth.batch.local import run_local

        run_local(jobs, workers, threads, on_outcome, gpus)
        return
    # Set before Ray is imported, and seen by the processes ray.init starts: no usage statistics
    # sent; a local instance keeps Ray's default token authentication, without its warning.
    auth = {"RAY_AUTH_MODE": "token"} if address == LOCAL else {}
    with _environment(RAY_USAGE_STATS_ENABLED="0", **auth):
        from texsynth.batch.ray_runner import run_ray

        run_ray(jobs, address, workers, threads, on_outcome, note)


def main(argv: Sequence[str], prog: str = "texsynth batch") -> int:
    """Run a batch from the command line; returns the exit status (0 only when every job succeeded)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.jobs is None:
        if args.ray not in (None, LOCAL) and Path(args.ray).exists():  # `--ray jobs.csv`
            args.jobs, args.ray = args.ray, LOCAL
        else:
            parser.error("the following arguments are required: JOBS")
    if args.local and args.ray is not None:
        parser.error("--local and --ray contradict each other: give one")
    jobs_path = Path(args.jobs)
    if args.output_dir and not jobs_path.is_dir():
        parser.error("--output-dir is for a folder of source images; a manifest's rows name their outputs")
    address = args.ray if args.ray is not None else (None if args.local else os.environ.get("RAY_ADDRESS") or None)
    try:
        jobs = manifest.read_jobs(jobs_path, manifest.default_values(args), args.output_dir)
    except manifest.ManifestError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    if args.shard:
        jobs = manifest.select_shard(jobs, *args.shard)
    report_path = Path(args.report) if args.report else default_report(jobs_path, args.output_dir, args.shard)

    from texsynth.batch.local import default_threads, visible_gpus
    from texsynth.io.files import ensure_writable_dir
    from texsynth.progress import log

    ensure_writable_dir(report_path.parent)
    say = lambda message: log(message, args.quiet)  # noqa: E731
    on_cluster = address not in (None, LOCAL)
    gpus = [] if on_cluster else visible_gpus()
    workers = args.workers or max(1, len(gpus))
    threads = args.threads or (1 if on_cluster else default_threads(workers))
    if on_cluster and args.workers:
        say(f"{prog}: --workers is ignored on a Ray cluster (its resources decide how many jobs run at once)")

    outcomes: dict[int, Outcome] = {}
    to_run = []
    for job in jobs:
        if not args.force and records.is_done(job):
            outcomes[job.index] = Outcome.of(job, "skipped")
        else:
            to_run.append(job)
    shard_text = f" (shard {args.shard[0]}/{args.shard[1]})" if args.shard else ""
    runner = "local" if address is None else "ray"
    where = (f"{min(workers, len(to_run))} local worker(s), {threads} thread(s) each"
             + (f", GPUs {','.join(gpus)}" if gpus else "") if address is None else f"Ray ({address})")
    say(f"batch: {len(jobs)} job(s){shard_text}: {len(outcomes)} already done, {len(to_run)} to run"
        + (f" on {where}" if to_run else ""))

    progress = JobsProgress(len(to_run), quiet=args.quiet)

    def on_outcome(outcome: Outcome) -> None:
        outcomes[outcome.index] = outcome
        progress.add(outcome)
        if args.quiet and outcome.status == "failed":  # the progress line is off, errors are not
            print(f"{prog}: {outcome.label} failed: {outcome.error}", file=sys.stderr)

    start = time.perf_counter()
    interrupted = False
    try:
        with sigterm_interrupts(), progress:
            if to_run:
                _run(to_run, address, workers, threads, gpus, on_outcome, progress.note)
    except KeyboardInterrupt:
        interrupted = True
    wall = time.perf_counter() - start

    ordered = [outcomes.get(job.index) or Outcome.of(job, "not run") for job in jobs]
    write_report(report_path, ordered, jobs_file=str(jobs_path.resolve()), shard=list(args.shard or ()) or None,
                 runner=runner, ray_address=address, workers=workers if not on_cluster else None, threads=threads,
                 force=args.force, seconds=round(wall, 3), interrupted=interrupted)
    if not args.quiet:
        print(summary_table(ordered, wall), file=sys.stderr)
        print(f"report: {report_path}", file=sys.stderr)
    for outcome in ordered:
        if outcome.status == "done":
            print(outcome.output)
    if interrupted:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0 if all(outcome.status in ("done", "skipped") for outcome in ordered) else 1
