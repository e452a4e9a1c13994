"""Run the run: steps of a workflow or of mlgitops's composite action as GitHub's runner would, offline.

Enough of GitHub Actions for our own files: `${{ }}` expressions over inputs, matrix, github, steps'
outputs and env, the `if:` conditions they use, $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY files, and
`uses: ./` (this repository's action, its steps run in turn). Other `uses:` steps are not run: a test
gives their outputs (setup-python) or they are optional (caches).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
NAME = re.compile(r"\b(inputs|matrix|github|env|steps)\.([\w-]+(?:\.[\w-]+)*)")


@dataclass
class Context:
    """What expressions see: github.*, matrix.*, env.*; inputs and steps belong to one action run."""

    github: dict[str, str]
    matrix: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)  # the run: scripts run, in order

    def value(self, name: str) -> str:
        kind, _, rest = name.partition(".")
        if kind == "steps":
            step, _, output = rest.partition(".outputs.")
            return self.steps.get(step, {}).get(output, "")
        return str(getattr(self, kind).get(rest, ""))

    def evaluate(self, expression: str) -> str | bool:
        """The expressions our files use: names, string literals, ==, !=, &&, ||, !cancelled()."""
        python = NAME.sub(lambda m: repr(self.value(m.group(0))), expression)
        python = python.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
        return eval(python, {"__builtins__": {}}, {})  # our own workflow files only

    def expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1))), text)

    def condition(self, step: dict) -> bool:
        if "if" not in step:
            return True
        text = str(step["if"]).strip()
        match = EXPRESSION.fullmatch(text)
        return bool(self.evaluate(match.group(1) if match else text))


def _outputs(path: Path) -> dict[str, str]:
    outputs = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        key, _, value = line.partition("=")
        outputs[key] = value
    return outputs


def run_script(script: str, cwd: Path, env: dict[str, str], context: Context, tmp: Path) -> dict[str, str]:
    """One run: step with bash -e -o pipefail, as `shell: bash` does; its $GITHUB_OUTPUT as a dict."""
    output = tmp / f"output-{len(context.ran)}"
    full = {**os.environ, **context.env, **env, "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], cwd=cwd,
                          env=full, capture_output=True, text=True, check=False)
    context.ran.append(script)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return _outputs(output)


def run_action(action_dir: Path, inputs: dict[str, str], context: Context, cwd: Path, tmp: Path,
               uses: dict[str, dict[str, str]]) -> None:
    """The steps of a composite action; `uses` gives the outputs of steps that use other actions, by id."""
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    given = {k: str(v) for k, v in inputs.items()}
    own = Context(context.github | {"action_path": str(action_dir)}, context.matrix, context.env,
                  {k: given.get(k, str(v.get("default", ""))) for k, v in action["inputs"].items()}, {}, context.ran)
    for step in action["runs"]["steps"]:
        if not own.condition(step):
            continue
        if "uses" in step:
            own.steps[step.get("id", "")] = uses.get(step["uses"].split("@")[0], {})
            continue
        env = {k: own.expand(str(v)) for k, v in (step.get("env") or {}).items()}
        folder = cwd / own.expand(step.get("working-directory", "."))
        own.steps[step.get("id", "")] = run_script(step["run"], folder, env, own, tmp)


def run_workflow_job(workflow: Path, job: str, context: Context, cwd: Path, tmp: Path, skip: str = "",
                     uses: dict[str, dict[str, str]] | None = None) -> None:
    """A job's steps, `uses: ./` running this repository's action; run: scripts containing `skip` are left out."""
    for step in yaml.safe_load(workflow.read_text())["jobs"][job]["steps"]:
        if not context.condition(step):
            continue
        if step.get("uses") == "./":
            inputs = {k: context.expand(str(v)) for k, v in (step.get("with") or {}).items()}
            run_action(cwd, inputs, context, cwd, tmp, uses or {})
        elif "run" in step and not (skip and skip in step["run"]):
            env = {k: context.expand(str(v)) for k, v in (step.get("env") or {}).items()}
            run_script(step["run"], cwd, env, context, tmp)
