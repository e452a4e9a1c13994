"""What `mlgitops set` and `mlgitops promote` share: open a spec for editing, validate the edit, write it.

Nothing is written unless the edited spec validates in every environment; then the spec is written
atomically and the tree regenerated, as `mlgitops generate` would. The whole edit is one transaction
under the repository's lock (`transaction`): read, edit, write, generate. If anything fails after the
spec is written (generate refuses, a folder or the disk refuses a write, Ctrl-C, SIGTERM), the tree
files already changed are put back, then the spec, and the message says which state the repository
is in: as it was, or (when a restore itself fails) exactly what still holds the edit.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from mlgitops.commands.common import emit, repository
from mlgitops.report import interrupts
from mlgitops.report.findings import FatalError, Finding, has_errors
from mlgitops.spec import edit
from mlgitops.spec.config import Config, load_config
from mlgitops.spec.model import Model, parse_model
from mlgitops.spec.repo import Repo
from mlgitops.tree import generation, layout, writer


@dataclass
class Session:
    repo: Repo
    config: Config
    rel: str
    model: Model
    doc: edit.Document
    times: os.stat_result | None = None  # the spec's before it was written

    def parse(self, text: str) -> tuple[Model | None, list[Finding]]:
        return parse_model(self.rel, text.encode("utf-8"), self.config)

    def path(self):
        """The file to write: a spec that is a symlink (read_input allows one inside the repository) is
        edited where it points, so the link stays a link."""
        return os.path.realpath(self.repo.root / self.rel)

    def validate(self, text: str) -> list[Finding]:
        """Every finding generate would give the edited spec: its own, and those of rendering its files
        (a canary without a route, a patch that does not apply), so an edit generate would refuse is
        never written."""
        model, findings = self.parse(text)
        if model is None or has_errors(findings):
            return findings
        return findings + layout.model_tree(model, self.config)[1]


@contextmanager
def transaction(repo_path: str | None) -> Iterator[None]:
    """Hold the repository's lock from reading the spec to the end of generate (a concurrent generate or
    set waits: neither reverts the other), with SIGTERM interrupting like Ctrl-C so the restore runs."""
    root = repository(repo_path).root
    with interrupts.handled(), writer.locked(root, notify=lambda message: click.echo(message, err=True)):
        yield


def open_spec(repo_path: str | None, name: str) -> tuple[Session | None, int]:
    repo = repository(repo_path)
    config, findings = load_config(repo)
    if config is None:
        emit(findings, "text")
        return None, 1
    path = repo.root / "models" / f"{name}.yaml"
    if path not in repo.model_files():  # only a spec generate reads: never ../elsewhere, a folder or a FIFO
        known = ", ".join(sorted(p.stem for p in repo.model_files())) or "none"
        raise FatalError(f"no spec models/{name}.yaml", f"models in this repository: {known}")
    rel = repo.rel(path)
    raw, findings = repo.read_input(path)
    model, more = parse_model(rel, raw, config) if raw is not None else (None, [])
    findings += more
    if raw is None or model is None or has_errors(findings):
        emit(findings, "text")
        click.echo(f"fix {rel} first: it does not validate", err=True)
        return None, 1
    doc, findings = edit.load(rel, raw.decode("utf-8"))
    if doc is None:
        emit(findings, "text")
        return None, 1
    return Session(repo, config, rel, model, doc), 0


def session_for(repo: Repo, config: Config, rel: str, text: str) -> Session | None:
    """A session on text as if it were the spec at rel (None: it does not validate)."""
    model, findings = parse_model(rel, text.encode("utf-8"), config)
    doc, more = edit.load(rel, text)
    if model is None or doc is None or has_errors(findings + more):
        return None
    return Session(repo, config, rel, model, doc)


def save(session: Session, text: str) -> int:
    """Validate the edited text; write it and regenerate, or print why not and write nothing."""
    findings = session.validate(text)
    if has_errors(findings):
        emit(findings, "text")
        click.echo(f"{session.rel} is unchanged: the edit does not validate (the positions above are in the "
                   "edited text, which was not written)", err=True)
        return 1
    opcodes = difflib.SequenceMatcher(None, session.doc.text.splitlines(), text.splitlines()).get_opcodes()
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")
    path = session.path()
    try:
        session.times = os.stat(path)  # restored with the bytes if anything after the write fails
    except OSError as exc:
        raise FatalError(f"cannot write {session.rel}: {exc.strerror or exc}") from None
    try:
        outcome = _write_and_generate(session, path, text, changed)
    except _Unwritten:
        raise
    except writer.PartialWrite as exc:  # the rollback could not put every tree file back
        raise _restored(session, exc, "generated files that could not be put back still follow the edit: run "
                        "'mlgitops generate' to bring them back to the spec") from None
    except FatalError as exc:  # generate wrote nothing, or put back what it wrote
        raise _restored(session, exc, "the tree is as it was: nothing changed") from None
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM, before or during generate
        partial = bool(getattr(exc, "done", None))
        raise writer.Interrupted(_restored_note(session, "the tree is partial: run 'mlgitops generate' to bring "
                                                "it back to the spec" if partial else "the tree is as it was: "
                                                "nothing changed")) from None
    emit(outcome.findings, "text")
    if has_errors(outcome.findings):  # generate refused and wrote nothing: the edit goes too
        _restore(session)
        click.echo(f"{session.rel} is unchanged: generate refused the tree (the findings above)", err=True)
        return 1
    plan = outcome.plan
    if plan is not None:
        click.echo(f"generated: {len(plan.write)} written, {len(plan.delete)} deleted", err=True)
        for edited in plan.edited:
            click.echo(f"warning: {edited}: overwrote edits made by hand since generated", err=True)
    return 0


class _Unwritten(FatalError):
    """The spec could not be written: it is as it was, and nothing else was touched."""


def _write_and_generate(session: Session, path: str, text: str, changed: int) -> generation.Outcome:
    try:
        writer.write_atomic(path, text.encode("utf-8"), make_parent=False)
    except OSError as exc:
        raise _Unwritten(f"cannot write {session.rel}: {exc.strerror or exc}; nothing changed") from None
    try:
        os.chmod(path, stat.S_IMODE(session.times.st_mode))  # type: ignore[union-attr]  # the spec's mode stays
    except OSError as exc:
        raise FatalError(f"cannot write {session.rel}: {exc.strerror or exc}") from None
    click.echo(f"edited {session.rel} ({changed} line{'s' * (changed != 1)} changed)", err=True)
    writer.pause("spec-written")
    try:
        return generation.run(session.repo.root, rollback=True)
    except OSError as exc:  # anything the writer did not turn into a message (a lock file, a scan)
        raise FatalError(f"cannot generate the tree: {exc.strerror or exc}") from None


def _restored_note(session: Session, tree: str) -> str:
    """Put the spec back; say so, and what state the tree is in (or what the failed restore left)."""
    try:
        _restore(session)
    except FatalError as exc:
        return f"{exc.message} ({tree})"
    return f"{session.rel} was restored; {tree}"


def _restored(session: Session, exc: FatalError, tree: str) -> FatalError:
    return FatalError(f"{exc.message}; {_restored_note(session, tree)}", exc.hint, exc.details)


def _restore(session: Session) -> None:
    """Put the spec back as it was before the edit (a failed run leaves the repository as it was)."""
    path = session.path()
    try:
        with interrupts.deferred():  # a second Ctrl-C or SIGTERM waits until the spec is back
            writer.write_atomic(path, session.doc.text.encode("utf-8"), make_parent=False)
            if session.times is not None:  # as it was, mode and mtime included: make and editors see no change
                os.chmod(path, stat.S_IMODE(session.times.st_mode))
                os.utime(path, ns=(session.times.st_atime_ns, session.times.st_mtime_ns))
    except OSError as exc:
        raise FatalError(f"cannot restore {session.rel}: {exc.strerror or exc}; it holds the edit, and the "
                         "tree was not generated from it", "run 'mlgitops generate', or undo the edit") from None
