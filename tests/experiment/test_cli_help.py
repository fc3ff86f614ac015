"""Every option of every ``snnconv`` subcommand has help text; ``--version`` works."""

import argparse
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
def test_help_renders(path):
    text = PARSERS[path].format_help()
    assert text.startswith("usage: " + " ".join(path))


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
