"""Changing a served library: add, remove and re-index reports, each allowed by role, limited, and recorded.

A :class:`Curator` does the writes an app (or any other front end) offers on top
of a :class:`~search.retrieve.engine.Searcher`. Every write checks who asks (editors only,
when there are users), is recorded in ``index/audit.log`` with its outcome, and
leaves the corpus as the index holds it when it fails.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from search.display import bounded, name_too_long
from search.serve import audit, journal
from search.serve.access import RateLimit, Users
from search.index.build import BuildReport, build_index
from search.index.publish import OCR_CACHE
from search.ingest.corpus import add_report, remove_report, restore_report
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import MAX_FILE_BYTES, Document
from search.retrieve.engine import Searcher
from search.errors import AccessError, DocumentError, DuplicateReportError, IndexWriteError, SearchError
from search.fileio import file_sha256

DEFAULT_MAX_UPLOAD_MB = MAX_FILE_BYTES // 2**20
DEFAULT_UPLOADS_PER_MINUTE = 10

LOCAL_USER = "local"  # the one person of an app with no users file, as the audit log names them
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class WriteOutcome:
    """What a write did: the report concerned, and what the index now holds of it."""

    action: str
    file: str
    passages: int = 0  # the report's passages in the index (upload)
    embedded: int = 0  # passages embedded by the build
    reports: int = 0  # reports in the index after the write
    moved_to: Path | None = None  # where a removed report's file went
    unrecorded: str | None = None  # why the audit log could not record this write (it was done all the same)

    def summary(self) -> str:
        """One line for the audit log."""
        if self.action == "upload":
            return f"saved as {self.file}; passages: {self.passages}"
        if self.action == "remove":
            return f"moved to {self.moved_to}"
        return f"reports: {self.reports}; passages embedded: {self.embedded}"


class Curator:
    """The writes of a served index: add, remove, re-index.

    Args:
        searcher: the searcher serving the index; it is reloaded after each write.
        corpus_dir: the corpus folder the index is built from.
        users: the users file; None means one local person, who may write.
        max_upload_bytes: the largest report an upload may be.
        uploads_per_minute: uploads one user may make in any minute.
        limits: the work reading one report may take (pages, characters, passages, time, memory).
    """

    def __init__(self, searcher: Searcher, corpus_dir: Path, *, users: Users | None = None,
                 max_upload_bytes: int, uploads_per_minute: int, limits: ReadLimits = DEFAULT_LIMITS):
        self.searcher, self.corpus_dir, self.users, self.limits = searcher, Path(corpus_dir), users, limits
        self.max_upload_bytes, self.uploads_per_minute = max_upload_bytes, uploads_per_minute
        self._uploads = RateLimit(uploads_per_minute)

    def authorize(self, user: str | None, action: str, file: str = "-") -> str:
        """The user's name when they may write; otherwise the refusal is recorded and raised.

        Raises:
            AccessError: the user is not an editor (or no longer a user).
        """
        if self.users is None:
            return LOCAL_USER
        role = self.users.role(user)
        if role != "editor":
            self._record(user or "-", action, file, f"refused: {role or 'not a user'}")
            raise AccessError(f"adding, removing and re-indexing reports needs an editor's account; "
                              f"{user or 'this session'} is {'a ' + role if role else 'not a user'}")
        return user

    @staticmethod
    def check_name(name: str) -> None:
        """Refuse, before any work or record, a name no report can have (longer than a file name may be).

        Raises:
            DocumentError: the name is over :data:`~search.display.NAME_MAX_BYTES` bytes.
        """
        if why := name_too_long(name):
            raise DocumentError(why)

    def add(self, user: str | None, source: Path, name: str, progress: Progress | None = None) -> WriteOutcome:
        """Add an uploaded report and index it.

        Raises:
            AccessError: not an editor, or over the uploads-per-minute limit.
            DuplicateReportError: the library holds the same file already (nothing is changed).
            DocumentError: the file is too big or cannot be read (nothing is changed).
        """
        self.check_name(name)
        user = self.authorize(user, "upload", name)
        if wait := self._uploads.take(user):
            self._record(user, "upload", name, "refused: rate limit")
            raise AccessError(f"at most {self.uploads_per_minute} uploads a minute; try again in {wait:.0f} s")

        def work(entry: journal.Entry) -> WriteOutcome:
            size = Path(source).stat().st_size
            if size > self.max_upload_bytes:
                raise DocumentError(f"{name} is {size / 2**20:.1f} MB; the limit is {self.max_upload_bytes / 2**20:g} MB")
            self._refuse_copy(Path(source), name)
            added, document = add_report(self.corpus_dir, Path(source), name, self.limits,
                                         ocr_cache=self.searcher.index_dir / OCR_CACHE,
                                         on_page=(lambda done, total: progress("ocr", done, total)) if progress else None)
            entry.note(saved=added.name)
            try:
                report = self.refresh(progress, documents={added.name: document})
            except BaseException:  # whatever failed, the corpus goes back to what the index holds
                added.unlink(missing_ok=True)
                raise
            passages = self.searcher.index.manifest.documents.get(added.name, {}).get("passages", 0)
            return WriteOutcome("upload", added.name, passages, report.embedded, len(report.documents))

        return self._run(user, "upload", name, work)

    def _refuse_copy(self, source: Path, name: str) -> None:
        """A file whose bytes the library already holds is not added again: a copy would only repeat its
        passages (each hit saying "also in") and change other questions' rankings."""
        digest = file_sha256(source)
        same = sorted(doc for doc, info in self.searcher.index.manifest.documents.items() if info.get("sha256") == digest)
        if same:
            raise DuplicateReportError(f"{name} is already in the library as {same[0]} (the same file); nothing was added")

    def remove(self, user: str | None, document: str, progress: Progress | None = None) -> WriteOutcome:
        """Take a report out of the index; its file moves to ``corpus/.removed/``.

        Raises:
            AccessError: not an editor.
            DocumentError: no such report.
        """
        self.check_name(document or "")
        user = self.authorize(user, "remove", document or "-")

        def work(entry: journal.Entry) -> WriteOutcome:
            moved = remove_report(self.corpus_dir, document or "")
            entry.note(moved_to=str(moved))
            try:
                report = self.refresh(progress)
            except BaseException:
                restore_report(self.corpus_dir, document, moved)
                raise
            return WriteOutcome("remove", document, embedded=report.embedded, reports=len(report.documents), moved_to=moved)

        return self._run(user, "remove", document, work)

    def rebuild(self, user: str | None, progress: Progress | None = None) -> WriteOutcome:
        """Bring the index up to date with the corpus folder (reports added or removed by hand).

        Raises:
            AccessError: not an editor.
        """
        user = self.authorize(user, "rebuild")

        def work(entry: journal.Entry) -> WriteOutcome:
            report = self.refresh(progress)
            return WriteOutcome("rebuild", "-", embedded=report.embedded, reports=len(report.documents))

        return self._run(user, "rebuild", "-", work)

    def refresh(self, progress: Progress | None = None, documents: dict[str, Document] | None = None) -> BuildReport:
        """Bring the index up to date with the corpus folder and serve the new one; the old one serves until then.

        No role check and no audit line: this is the writes' shared step, and the app's own refresh
        of a stale index at start.
        """
        report = build_index(self.corpus_dir, self.searcher.index_dir, config=self.searcher.index.manifest.config,
                             embedder=self.searcher.embedder, progress=progress, limits=self.limits, documents=documents)
        self.searcher.reload()
        return report

    def recover(self) -> list[str]:
        """Finish or undo the writes a crash interrupted (journal entries left at start-up), and record each.

        An upload the index holds is kept (its build was published); one it does not hold goes to
        ``corpus/.removed/``, as the uploader saw it fail. A removal the index still shows is undone
        (the file comes back); one it no longer shows is kept. A re-index needs nothing: the index is
        the last one published. Call it before serving writes.

        Returns:
            The audit outcomes recorded, one per interrupted write.
        """
        said = []
        documents = self.searcher.index.manifest.documents
        for entry in journal.pending(self.searcher.index_dir):
            v = entry.values
            action, file, saved, moved = v.get("action"), str(v.get("file", "-")), v.get("saved"), v.get("moved_to")
            if action == "upload" and saved and saved in documents:
                outcome = f"ok (finished before a crash): saved as {saved}"
            elif action == "upload" and saved:
                where = remove_report(self.corpus_dir, saved) if (self.corpus_dir / saved).is_file() else None
                outcome = f"rolled back after a crash: {saved} moved to {where}" if where else "rolled back after a crash"
            elif action == "remove" and moved and file in documents and Path(moved).is_file():
                restore_report(self.corpus_dir, file, Path(moved))
                outcome = f"rolled back after a crash: {file} is back in the corpus"
            elif action == "remove" and moved:
                outcome = f"ok (finished before a crash): moved to {moved}"
            else:
                outcome = "interrupted by a crash: nothing was changed" if action != "rebuild" else \
                    "interrupted by a crash: the index is the last one published"
            self._record(str(v.get("user", "-")), str(action or "-"), file, outcome)
            entry.end()
            said.append(outcome)
        return said

    def _run(self, user: str, action: str, file: str, work: Callable[[journal.Entry], WriteOutcome]) -> WriteOutcome:
        try:
            entry = journal.begin(self.searcher.index_dir, user, action, file)
        except OSError as exc:  # a full disk (0 bytes free) or a read-only folder: the audit line may fail too
            self._record(user, action, file, f"refused: the journal cannot be written ({exc.strerror or exc})")
            raise IndexWriteError(f"cannot write to the index folder {self.searcher.index_dir} ({exc.strerror or exc}); "
                                  "nothing was changed. Free some disk space, or make the folder writable") from exc
        try:
            outcome = work(entry)
        except Exception as exc:
            self._record(user, action, file, f"{'refused' if isinstance(exc, SearchError) else 'failed'}: {exc}")
            entry.end()
            raise
        if unrecorded := self._record(user, action, file, f"ok: {outcome.summary()}"):
            outcome = dataclasses.replace(outcome, unrecorded=unrecorded)  # the write is done and served: said so
        entry.end()
        return outcome

    def _record(self, user: str, action: str, file: str, outcome: str) -> str | None:
        """Append the audit line; when it cannot be written, log one line and say why (None when written)."""
        try:
            audit.record(self.searcher.index_dir, user, action, file, outcome)
        except OSError as exc:
            logging.getLogger(__name__).error("audit log not written for %s %s by %s: %s", action,
                                              bounded(file), bounded(user), exc.strerror or exc)
            return f"the audit log could not record it ({exc.strerror or exc})"
        return None
