"""`mlgitops diff --markdown`: a collapsible block per model, never more than GitHub's 65,536 characters."""

from __future__ import annotations

import re

from mlgitops.check import change_plan, diff_markdown
from mlgitops.check.gitrev import Base
from mlgitops.check.rendered_diff import Change, Result
from mlgitops.report.findings import Finding, Position, Severity

BASE = Base("main", "0123456789abcdef0123456789abcdef01234567", "merge base")


def change(model: str, env: str = "prod", lines: int = 3, width: int = 40) -> Change:
    overlay = f"overlays/{env}/{model}"
    body = "".join(f"-  old{i}: {'x' * width}\n+  new{i}: {'y' * width}\n" for i in range(lines))
    return Change(overlay, f"--- a/{overlay} (built at 0123456789ab)\n+++ b/{overlay} (built now)\n@@ -1 +1 @@\n{body}")


def markdown(changes: list[Change], warnings=(), limit: int = diff_markdown.LIMIT) -> str:
    return diff_markdown.markdown(Result(BASE, changes, []), list(warnings), limit)


def test_the_first_line_names_the_base():
    assert markdown([]) == ("**mlgitops diff** against main (merge base 0123456789ab)\n\n"
                            "The clusters get no change.\n")
    assert markdown([change("a")]).splitlines()[0] == "**mlgitops diff** against main (merge base 0123456789ab)"


def test_one_collapsible_block_per_model_with_its_environments():
    text = markdown([change("a", "dev"), change("a", "prod", lines=2), change("b", "staging")])
    assert text.count("<details open>") == 2 and text.count("</details>") == 2  # short: shown open
    assert "<summary><code>a</code>: dev, prod (+5 -5 lines)</summary>" in text
    assert "<summary><code>b</code>: staging (+3 -3 lines)</summary>" in text
    assert text.count("```diff\n") == 2
    assert "Cut to fit" not in text


def test_a_fence_longer_than_any_backticks_in_the_diff():
    text = markdown([Change("overlays/prod/a", "+  command: ```rm```\n")])
    assert "````diff\n+  command: ```rm```\n````\n" in text


def test_a_huge_diff_is_cut_to_the_limit_with_a_note_saying_what_was_left_out():
    changes = [change(f"m{i:04d}", lines=200) for i in range(300)]  # about 5 MB of diff
    text = markdown(changes)
    assert len(text) <= 65_536
    shown = re.findall(r"<summary><code>(m\d+)</code>", text)
    assert shown == [f"m{i:04d}" for i in range(len(shown))] and 0 < len(shown) < 300
    assert text.count("<details>") == text.count("</details>")
    last = shown[-1]
    cut = int(re.search(r"\*\(cut: (\d+) more lines\)\*", text).group(1))
    left = 300 - len(shown)
    note = text.splitlines()[-1]
    assert note.startswith(f"**Cut to fit 65,536 characters**: left out the last {cut} lines of `{last}` and "
                           f"{left} more models (`m{len(shown):04d}`, ")
    assert f"and {left - 10} more)" in note
    assert f", {cut + left * 403:,} diff lines in all. Run `mlgitops diff` for the whole diff." in note


def test_a_block_that_would_keep_only_a_few_lines_is_left_out_whole():
    text = markdown([change("a", lines=10), change("b", lines=10, width=300)], limit=3_000)
    assert len(text) <= 3_000
    assert "<code>a</code>" in text and "<code>b</code>" not in text
    assert text.endswith("left out 1 more model (`b`), 23 diff lines in all. Run `mlgitops diff` for the whole diff.\n")


def test_warnings_come_first_in_a_warning_box():
    warning = Finding("autoscaling-handover", "prod: Deployment a had spec.replicas: 3", "models/a.yaml",
                      Position(12, 9), "hand the count to the HPA first", Severity.WARNING)
    text = markdown([change("a")], [warning] * 25)
    assert text.split("\n\n")[1].startswith("> [!WARNING]\n> - `models/a.yaml:12:9`: prod: Deployment a had "
                                            "spec.replicas: 3. hand the count to the HPA first\n")
    assert text.count("> - `models/a.yaml:12:9`") == 20
    assert "> - … and 5 more: run `mlgitops diff` to see them all\n" in text
    assert text.index("[!WARNING]") < text.index("<details")


def test_serving_and_training_of_one_environment_are_named_apart_never_dev_dev():
    text = markdown([change("a", "dev"), Change("overlays/dev/a/training", "+x\n"), change("a", "prod")])
    assert "<summary><code>a</code>: dev, dev training, prod (+7 -6 lines)</summary>" in text


def test_a_short_block_is_open_and_a_long_one_opens_on_click():
    text = markdown([change("short", lines=3), change("long", lines=40)])
    assert "<details open><summary><code>short</code>" in text
    assert "<details><summary><code>long</code>" in text


def test_a_clusters_change_is_a_block_of_its_own_named_by_engine():
    text = markdown([Change("clusters/prod/flux", "--- a/clusters/prod/flux (at x)\n+++ b/clusters/prod/flux (now)\n"
                                                  "@@ -1 +1 @@ GitRepository flux-system/ml\n-  url: a\n+  url: b\n")])
    assert "<summary><code>clusters/prod</code>: flux (+1 -1 lines)</summary>" in text


def plan(models: int, envs=("dev", "staging", "prod")) -> list[change_plan.Row]:
    return [change_plan.Row(change_plan.Place(env, env, f"m{i:04d}", env == "prod"), f"{kind} ml-{env}/m{i:04d}",
                            "changed", ("spec.template.spec.containers[model].image",))
            for i in range(models) for env in envs for kind in ("Deployment", "Service", "ConfigMap")]


def test_a_300_model_pull_request_keeps_the_table_first_and_stays_under_the_limit():
    rows = sorted(plan(300), key=lambda r: not r.place.prod)
    changes = [change(f"m{i:04d}", env, lines=30) for i in range(300) for env in ("dev", "staging", "prod")]
    text = diff_markdown.markdown(Result(BASE, changes, []), [], rows=rows)
    assert len(text) <= 65_536
    assert text.index("**Change plan**: 2700 changed (900 in prod)") < text.index("<details")
    table = [line for line in text.splitlines() if line.startswith("| **prod** |")]
    assert len(table) > 50 and len(text.split("<details", 1)[0]) <= 0.4 * 65_536 + 200
    left = int(re.search(r"… and (\d+) more rows", text).group(1))
    assert left + text.count("\n| ") - 1 == 2700  # every row is shown or counted (the header row aside)
    assert text.rstrip().endswith("Run `mlgitops diff` for the whole diff.")
