"""A batch's jobs: a CSV or JSON Lines manifest, or a folder of source images, turned into validated
synth command lines (:class:`Job`) before any work starts.

Each row becomes the argv of ``synthesize.py --output FILE ...`` and is checked by synth's own
parser, so a column is any synth flag by its long name without dashes and accepts exactly what that
flag accepts; flags added to synth later become columns by themselves. Flags given on the batch
command line are defaults for every row. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from texsynth.choices import WEIGHT_NAMES
from texsynth.commands import synth
from texsynth.errors import TexsynthError

__all__ = ["EXCLUDED_COLUMNS", "Job", "ManifestError", "PATH_COLUMNS", "add_default_flags", "columns",
           "default_values", "derive_seed", "parse_bool", "read_jobs", "select_shard"]

# Flags that name or fill a run folder. A batch job writes exactly its `output` file (synth's
# --output mode), where these have no effect, so a column or default naming them is a mistake.
EXCLUDED_COLUMNS = ("output-dir", "output-prefix", "save-every")
# Columns holding paths. They are made absolute (from the current folder, as on synth's command
# line) so that a worker elsewhere, or a Ray task on a node mounting the same files at the same
# place, reads and writes the same files; `weights` only when it is not a weight name.
PATH_COLUMNS = ("source", "output", "seed-image", "data-dir", "weights")
# Parsed flags that do not change the output file: left out of the settings a rerun compares.
NON_PIXEL_SETTINGS = ("output", "output_dir", "output_prefix", "save_every", "quiet")
TRUE_WORDS = ("true", "1", "yes", "y", "on")
FALSE_WORDS = ("false", "0", "no", "n", "off")
# Separates the values of a many-valued cell (several sources, several layers) in a CSV.
SEPARATOR = ";"


class ManifestError(TexsynthError):
    """A problem with the manifest's form, reported before any work starts (exit status 2)."""


@dataclass(frozen=True)
class Job:
    """One synthesis of a batch, ready to run.

    Attributes
    ----------
    index : int
        Position in the manifest (0-based); ``--shard`` selects by it.
    label : str
        Where the job comes from, for messages: ``row 2 (line 3)`` or an image's file name.
    argv : tuple of str
        The synth flags (paths absolute, ``--output`` and ``--random-seed`` always present).
    output : Path
        The file the job writes (absolute).
    settings : dict
        The resolved flags that decide the output's pixels, as JSON values (``weights``: the weight
        file used): a rerun skips the job when the record beside the output holds the same.
    random_seed : int
    seed_derived : bool
        Whether the seed was derived from the settings (the row gave none).
    """

    index: int
    label: str
    argv: tuple[str, ...]
    output: Path
    settings: dict
    random_seed: int
    seed_derived: bool


def columns(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.Action]:
    """Synth's flags by column name (long option without dashes), in the parser's order."""
    parser = parser or synth.build_parser()
    found: dict[str, argparse.Action] = {}
    for action in parser._actions:  # argparse has no public list of its actions
        longs = [option for option in action.option_strings if option.startswith("--")]
        if longs and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            found[longs[0][2:]] = action
    return found


def parse_bool(value: Any) -> bool:
    """A switch's cell: true/false, 1/0, yes/no, on/off (any case), or a JSON boolean."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _many(action: argparse.Action) -> bool:
    return action.nargs in ("+", "*") or (isinstance(action.nargs, int) and action.nargs > 1)


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value).strip()
    raise ValueError(f"column {name!r} takes one value, got {value!r}")


def _absolute(name: str, value: str) -> str:
    if name == "weights" and value in WEIGHT_NAMES:
        return value
    return os.path.abspath(os.path.expanduser(value))


def _values(name: str, action: argparse.Action, value: Any) -> list[str] | None:
    """A cell's values as strings (a switch's as ``true``/``false``); None for an empty cell (the default)."""
    if value is None or (isinstance(value, str) and not value.strip()) or value == []:
        return None
    if action.nargs == 0:
        return ["true" if parse_bool(value) else "false"]
    if _many(action) or isinstance(action, argparse._AppendAction):
        items = value if isinstance(value, list) else str(value).split(SEPARATOR)
        return [text for text in (_scalar(name, item) for item in items) if text] or None
    return [_scalar(name, value)]


def _tokens(name: str, action: argparse.Action, values: list[str]) -> list[str]:
    """The argv that gives flag ``name`` these values, paths made absolute."""
    option = "--" + name
    if action.nargs == 0:
        on = values == ["true"]
        if isinstance(action, argparse.BooleanOptionalAction):
            return [option if on else "--no-" + name]
        return [option] if on else []
    if name in PATH_COLUMNS:
        values = [_absolute(name, text) for text in values]
    if isinstance(action, argparse._AppendAction):
        return [f"{option}={text}" for text in values]
    # `--flag=value` keeps a value that starts with a dash from being read as a flag.
    return [option, *values] if _many(action) else [f"{option}={values[0]}"]


def _checking_parser() -> argparse.ArgumentParser:
    """Synth's parser, raising :class:`ManifestError` with argparse's message instead of exiting."""
    parser = synth.build_parser()

    def error(message: str):
        raise ManifestError(message)

    parser.error = error  # type: ignore[method-assign]  # this instance only
    return parser


def add_default_flags(group: argparse._ArgumentGroup, parser: argparse.ArgumentParser | None = None) -> None:
    """Add synth's flags to the batch command's parser, as defaults for every row.

    Values are kept as given (strings) and checked by synth's parser with each row; ``--output``
    is per row only, and the run-folder flags do not apply.
    """
    for name, action in columns(parser).items():
        if name in EXCLUDED_COLUMNS or name in ("output", "quiet"):
            continue
        kwargs: dict[str, Any] = {"dest": f"synth:{name}", "default": argparse.SUPPRESS, "help": action.help}
        if isinstance(action, argparse.BooleanOptionalAction):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif action.nargs == 0:
            kwargs.update(action="store_const", const=True)
        else:
            metavar = action.metavar or (None if action.choices else action.dest.upper())
            kwargs.update(nargs=action.nargs, metavar=metavar, choices=action.choices)
        if kwargs["help"] and "%(default)" in kwargs["help"]:
            kwargs["help"] = kwargs["help"].replace("%(default)s", str(action.default))
        group.add_argument(*action.option_strings, **kwargs)


def default_values(args: argparse.Namespace) -> dict[str, Any]:
    """The synth flags given on the batch command line, by column name."""
    return {key[len("synth:"):]: value for key, value in vars(args).items() if key.startswith("synth:")}


def derive_seed(flags: Mapping[str, Sequence[str]]) -> int:
    """A random seed for a job that gave none: a hash of its flags as written (output included).

    The same row gives the same seed on every run, from any folder, so its output is reproducible
    and a rerun can skip it; rows that differ only in their output file get different images.
    """
    text = json.dumps({name: list(values) for name, values in flags.items()}, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 2**31


def _weights_file(name: str, data_dir: str) -> str:
    from texsynth.nn.weights import find_weights

    try:
        return str(find_weights(name, data_dir))
    except TexsynthError:  # the job fails, alone, when it runs
        return f"{name} (not found; data dir {data_dir})"


def _normalise_column(name: str) -> str:
    return name.strip().lower().lstrip("-").replace("_", "-")


def _check_columns(names: list[str], where: str, known: Mapping[str, argparse.Action]) -> None:
    for name in names:
        if name in EXCLUDED_COLUMNS:
            raise ManifestError(f"{where}: column {name!r} does not apply to a batch "
                                f"(each job writes only the file in its output column)")
        if name not in known:
            allowed = [column for column in known if column not in EXCLUDED_COLUMNS]
            close = difflib.get_close_matches(name, allowed, 1)
            hint = (f"did you mean {close[0]!r}?" if close else
                    f"columns are synth's flags without dashes: {', '.join(allowed)}")
            raise ManifestError(f"{where}: unknown column {name!r} ({hint})")


def _csv_rows(path: Path, known: Mapping[str, argparse.Action]) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        header = next(reader, None)
        if header is None:
            raise ManifestError(f"{path}: empty file (expected a header such as source,output)")
        names = [_normalise_column(name) for name in header]
        _check_columns([name for name in names if name], f"{path} line 1 (header)", known)
        duplicates = sorted({name for name in names if name and names.count(name) > 1})
        if duplicates:
            raise ManifestError(f"{path} line 1 (header): column {duplicates[0]!r} given twice")
        row = 0
        for cells in reader:
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue  # blank lines and comments
            row += 1
            where = f"{path} row {row} (line {reader.line_num})"
            if len(cells) > len(names) and any(cell.strip() for cell in cells[len(names):]):
                raise ManifestError(f"{where}: {len(cells)} cells but the header names {len(names)} columns")
            yield where, {name: cell for name, cell in zip(names, cells) if name}


def _jsonl_rows(path: Path, known: Mapping[str, argparse.Action]) -> Iterator[tuple[str, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig") as file:
        row = 0
        for line_number, line in enumerate(file, 1):
            if not line.strip():
                continue
            row += 1
            where = f"{path} row {row} (line {line_number})"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise ManifestError(f"{where}: not valid JSON ({error.msg})") from None
            if not isinstance(data, dict):
                raise ManifestError(f"{where}: expected a JSON object, got {type(data).__name__}")
            cells = {_normalise_column(key): value for key, value in data.items()}
            _check_columns(list(cells), where, known)
            yield where, cells


def _folder_rows(folder: Path, output_dir: str | None, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    from texsynth.io.images import list_image_files

    if not output_dir:
        raise ManifestError(f"JOBS {folder} is a folder of source images: give --output-dir for the outputs")
    try:
        images = list_image_files([folder])
    except TexsynthError as error:
        raise ManifestError(str(error)) from None
    suffix = ".gif" if count > 1 else ".png"
    for image in images:
        yield f"{image}", {"source": str(image), "output": str(Path(output_dir) / (image.stem + suffix))}


def _parse(parser: argparse.ArgumentParser, argv: list[str], where: str, full: bool = True) -> argparse.Namespace:
    try:
        args = parser.parse_args(argv)
        if full:
            synth._check_flags(parser, args)
    except ManifestError as error:
        raise ManifestError(f"{where}: {error}" if where else str(error)) from None
    return args


def _resolve(index: int, where: str, label: str, cells: dict[str, Any], defaults: dict[str, list[str]],
             known: Mapping[str, argparse.Action], exclusive: dict[str, set[str]],
             parser: argparse.ArgumentParser) -> Job:
    """One row -> a validated :class:`Job`."""
    merged = dict(defaults)
    for name, value in cells.items():
        try:
            values = _values(name, known[name], value)
        except ValueError as error:
            raise ManifestError(f"{where}: column {name!r}: {error}") from None
        if values is None:
            continue
        for peer in exclusive.get(name, ()):  # a row's --source-scale replaces a default --source-width
            merged.pop(peer, None)
        merged[name] = values
    for required in ("source", "output"):
        if not merged.get(required):
            raise ManifestError(f"{where}: no {required} (every job needs a source and an output)")
    argv = [token for name in known if name in merged for token in _tokens(name, known[name], merged[name])]
    args = _parse(parser, argv, where)
    # Defaulted paths (--data-dir model_data) are made absolute too, for workers elsewhere.
    extra = [f"--{name}={_absolute(name, value)}" for name in PATH_COLUMNS
             if isinstance(value := getattr(args, name.replace("-", "_"), None), str) and value
             and _absolute(name, value) != value]
    if extra:
        argv += extra
        args = _parse(parser, argv, where)
    from PIL import Image

    output = Path(args.output)
    if output.suffix.lower() not in Image.registered_extensions():
        raise ManifestError(f"{where}: output {output} has no image extension (use .png, .jpg, ...)")
    if str(output) in args.source or str(output) == args.seed_image:
        raise ManifestError(f"{where}: output {output} would overwrite its own source")
    settings = {key: value for key, value in vars(args).items() if key not in NON_PIXEL_SETTINGS}
    # The weight file that --weights and --data-dir select, not the two flags: a rerun from another
    # folder (another default data dir) that reads the same weights is the same job.
    settings["weights"] = _weights_file(settings["weights"], settings.pop("data_dir"))
    seed_derived = args.random_seed is None
    if seed_derived:
        seed = derive_seed({name: values for name, values in merged.items() if name != "quiet"})
        argv.append(f"--random-seed={seed}")
        settings["random_seed"] = seed
    settings = json.loads(json.dumps(settings, sort_keys=True))  # the form it takes in the record
    return Job(index=index, label=label, argv=tuple(argv), output=output, settings=settings,
               random_seed=settings["random_seed"], seed_derived=seed_derived)


def read_jobs(jobs: str | os.PathLike, defaults: Mapping[str, Any] | None = None,
              output_dir: str | None = None) -> list[Job]:
    """Read and validate every job of a manifest, or of a folder of source images.

    Parameters
    ----------
    jobs : path-like
        A CSV file with a header (``.tsv``: tab-separated), a JSON Lines file (``.jsonl``,
        ``.ndjson``, ``.json``: one object per line), or a folder of source images.
    defaults : mapping, optional
        Synth flags given on the batch command line, by column name (:func:`default_values`).
    output_dir : str, optional
        For a folder of images: where each ``NAME.png`` (``.gif`` with ``count`` > 1) goes.

    Returns
    -------
    list of Job
        In manifest order.

    Raises
    ------
    ManifestError
        The first problem with the manifest's form, naming its row: an unknown column, a value its
        flag refuses, a row without source or output, two rows writing the same output.
    """
    path = Path(jobs)
    parser = _checking_parser()
    known = columns(parser)
    exclusive = {}
    for group in parser._mutually_exclusive_groups:
        names = {name for name, action in known.items() if action in group._group_actions}
        exclusive.update({name: names - {name} for name in names})
    given_defaults: dict[str, list[str]] = {}
    for name, value in (defaults or {}).items():
        _check_columns([name], "defaults", known)
        try:
            values = _values(name, known[name], value)
        except ValueError as error:
            raise ManifestError(f"--{name}: {error}") from None
        if values is not None:
            given_defaults[name] = values
    # The defaults alone must parse (with a stand-in source), so that a bad flag is reported once.
    parsed = _parse(parser, [t for name, values in given_defaults.items() for t in _tokens(name, known[name], values)]
                    + ([] if "source" in given_defaults else ["--source", "x"]), "", full=False)
    if not path.exists():
        raise ManifestError(f"JOBS {path}: no such file or folder")
    if path.is_dir():
        rows = _folder_rows(path, output_dir, parsed.count)
    elif path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = _jsonl_rows(path, known)
    else:
        rows = _csv_rows(path, known)
    result: list[Job] = []
    outputs: dict[Path, str] = {}
    try:
        for where, cells in rows:
            label = Path(where).name if path.is_dir() else where[len(str(path)) + 1:]
            job = _resolve(len(result), where, label, cells, given_defaults, known, exclusive, parser)
            if job.output in outputs:
                raise ManifestError(f"{where}: output {job.output} is also the output of {outputs[job.output]}")
            outputs[job.output] = label
            result.append(job)
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"cannot read JOBS {path}: {getattr(error, 'strerror', None) or error}") from None
    except csv.Error as error:
        raise ManifestError(f"{path}: not a valid CSV file ({error})") from None
    if not result:
        raise ManifestError(f"JOBS {path}: no jobs")
    return result


def select_shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Every ``count``-th job starting at ``index`` (by manifest position): ``--shard index/count``.

    The shards 0/N ... N-1/N together hold every job exactly once, whatever their jobs' outcomes.
    """
    if not 0 <= index < count:
        raise TexsynthError(f"shard {index}/{count}: need 0 <= I < N")
    return [job for job in jobs if job.index % count == index]
