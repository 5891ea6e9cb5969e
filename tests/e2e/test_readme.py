"""Every command the README shows still works, at the cheapest level that checks it: a cell's or a sweep's
overrides are expanded, composed and validated (every cell of a preset too), subcommands answer --help,
make targets exist. A command of a new kind fails here until this test knows how to check it."""
import re
import shlex
import subprocess
import sys

import pytest

from sentgrid.paths import PROJECT_ROOT

SETUP = ("export ", ". .venv/bin/activate", "python3 -m venv ")  # shell set-up lines, not sentgrid commands


def readme_commands() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = re.split(r"\s{2,}#|^#", line)[0].strip()
            if command:
                commands.append(command)
    return commands


def test_the_readme_shows_commands():
    commands = readme_commands()
    assert "make test" in commands and any(c.startswith("python -m sentgrid -m ") for c in commands)


@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_runs(command, data_root):
    if command.startswith(SETUP):
        return
    words = shlex.split(command)
    if words[0] == "make":
        dry = subprocess.run(["make", "-n", *words[1:]], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
        return
    assert words[:3] == ["python", "-m", "sentgrid"], f"the README shows a command this test does not know: {command}"
    arguments = words[3:]
    if arguments[:1] in (["plan"], ["export"], ["cache"], ["compare"], ["paper"], ["--help"]):
        sub = arguments[:1] if arguments[:1] != ["--help"] else []
        done = subprocess.run([sys.executable, "-m", "sentgrid", *sub, "--help"], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage" in (done.stdout + done.stderr).lower(), done.stderr[-2000:]
        arguments = arguments[1:]
        if not arguments or sub == ["compare"]:  # compare's arguments name finished cells, not a cell to compose
            return
        if sub == ["paper"]:  # the paper's own overrides compose, and name a transformer to build on
            from sentgrid.paper.command import base_model

            base_model([a for a in arguments if not a.startswith("--")] + [f"data.root={data_root}"])
            return
    from sentgrid.plan import compose_cell, expand
    from sentgrid.spec import CellSpec

    arguments = [a for a in arguments if a not in ("-m", "--multirun")] + [f"data.root={data_root}"]
    if "hydra/sweeper=optuna" in arguments:  # a search space: its lowest values and first choices make a cell
        from hydra.core.override_parser.overrides_parser import OverridesParser

        from sentgrid.search.space import space_of

        space = space_of(OverridesParser.create().parse_overrides(arguments))
        first = {name: getattr(d, "choices", [getattr(d, "low", None)])[0] for name, d in space.distributions.items()}
        CellSpec.from_config(compose_cell(space.overrides(first)))
        return
    cells = expand(arguments)
    assert cells
    for overrides in cells:
        CellSpec.from_config(compose_cell(overrides))
