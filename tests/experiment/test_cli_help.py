"""Every option of every ``snnconv`` subcommand has help text; ``--version`` works."""

import argparse
import json
import re
import subprocess
import sys

import pytest

import snnconv
from snnconv.cli import main
from snnconv.cli.main import build_parser


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("snnconv",)):
    """Yields (command path, parser) for ``parser`` and every subcommand below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


PARSERS = dict(walk(build_parser()))


def test_every_subcommand_is_walked():
    commands = {" ".join(p[1:]) for p in PARSERS}
    expected = {"run", "config", "tune", "kernels", "neovision2 prepare", "neovision2 synth"}
    assert expected | {"theory"} <= commands


@pytest.mark.parametrize("path", sorted(PARSERS), ids=" ".join)
def test_every_option_has_help(path):
    missing = []
    for action in PARSERS[path]._actions:
        if isinstance(action, argparse._SubParsersAction):
            # each subcommand needs a one-line help in its parent's listing
            helped = {a.dest for a in action._choices_actions if a.help}
            missing += [f"subcommand {n}" for n in action.choices if n not in helped]
            continue
        if action.help is argparse.SUPPRESS:
            continue
        if not (action.help or "").strip():
            missing.append("/".join(action.option_strings) or action.dest)
    assert not missing, f"{' '.join(path)}: options without help text: {', '.join(missing)}"


@pytest.mark.parametrize("path", sorted(PARSERS), ids=" ".join)
def test_help_shows_our_description_and_every_option_help(path):
    parser = PARSERS[path]
    # argparse re-wraps text (and may break lines at hyphens): compare without spaces.
    text = "".join(parser.format_help().split())
    formatter = parser._get_formatter()
    wanted = [parser.description or ""]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            wanted += [a.help for a in action._choices_actions]
            wanted += list(action.choices)
        elif action.help is not argparse.SUPPRESS:
            wanted.append(formatter._expand_help(action))
            wanted += action.option_strings
    missing = [w for w in wanted if "".join(w.split()) not in text]
    assert not missing, f"{' '.join(path)} --help lacks: {missing}"


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out == f"snnconv {snnconv.__version__}"
    assert re.fullmatch(r"snnconv \d+\.\d+\.\d+\S*", out)


def test_version_matches_the_distribution_metadata():
    from importlib.metadata import version

    assert snnconv.__version__ == version("snnconv")


def test_version_from_the_console_entry_point():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from snnconv.cli import main; sys.exit(main())",
            "--version",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"snnconv {snnconv.__version__}"


def test_status_lines_quiet_and_verbose(tmp_path, capsys):
    run = ["run", "--dataset", "digits", "--folds", "2", "--methods", "csnn", "--no-figures"]
    assert main([*run, "--quiet", "--out", str(tmp_path / "a")]) == 0
    plain = capsys.readouterr().out
    # -q: status lines gone, the results table kept
    assert main(["-q", *run, "--quiet", "--out", str(tmp_path / "q")]) == 0
    quiet = capsys.readouterr().out
    assert "dataset digits: 1797 images" in plain
    assert "dataset digits" not in quiet
    for out in (plain, quiet):
        assert "| CSNN (kernels + spiking front-end + CoLaNET) |" in out
    # --verbose: one debug line per task, the rest unchanged
    assert main(["--verbose", *run, "--quiet", "--out", str(tmp_path / "b")]) == 0
    verbose = capsys.readouterr().out
    debug = re.findall(
        r"^csnn fold (\d) \(seed \d+\): accuracy (0\.\d{4}), training [\d.]+ s, [\d.]+ s in all$",
        verbose,
        flags=re.M,
    )
    assert [fold for fold, _ in debug] == ["0", "1"]
    assert not re.search(r"^csnn fold", plain, flags=re.M)
    # the same results, and the rest of the output line for line (timings aside)
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [f"{r['accuracy']:.4f}" for r in results["runs"]] == [acc for _, acc in debug]
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    assert [r["accuracy"] for r in a["runs"]] == [r["accuracy"] for r in results["runs"]]

    def lines(out):  # the table rows up to the timing columns, other lines' first word
        rows = [x for x in out.splitlines() if not x.startswith("csnn fold")]
        return [x.split("|")[:4] if x.startswith("|") else x.split()[:1] for x in rows]

    assert len(verbose.splitlines()) == len(plain.splitlines()) + 2
    assert lines(verbose) == lines(plain)
