"""Every command is documented in the README and explains itself with --help."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sheetcrm.cli import main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    runner = CliRunner()
    for name, command in main.commands.items():
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example:" in result.output, name
        assert f"sheetcrm {name}" in README, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in README, (name, opt)
