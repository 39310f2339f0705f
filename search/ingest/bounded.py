"""Reading reports in a child process that can be stopped: each report's time and memory bounded.

A report over a limit the reader can see (pages, characters, paragraphs: :mod:`search.ingest.limits`)
is refused as soon as it is seen. What it cannot see in advance, a page that takes minutes to
parse or a structure that needs gigabytes, is bounded here: the reading happens in one child
Python process (started on first use, reused for the next report), whose address space is
limited to ``memory_mb``, and which is killed and replaced when a report takes longer than
``seconds``. The serving process's memory and its searches are untouched meanwhile.

The child speaks JSON lines over its own pipes: a request is ``{"path", "doc_id", "ocr_cache"}``, an answer
``{"document": {...}}`` or ``{"error": "one line"}``, after a ``{"ocr": [done, total]}`` line for each page
OCR'd (:mod:`search.ingest.scans`): each gives the reading ``seconds`` more, and is told to ``on_page``.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from search.errors import DocumentError
from search.ingest import ocr
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import Document, Paragraph, read_document


class BoundedReader:
    """Reads reports in a child process, one at a time (thread-safe); use it as a context manager.

    Args:
        limits: the limits of each read.
        ocr_cache: the folder where OCR'd pages are kept by their pixels' hash (none kept when None).
    """

    def __init__(self, limits: ReadLimits = DEFAULT_LIMITS, *, ocr_cache: Path | None = None):
        self.limits = limits
        self.ocr_cache = ocr_cache
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def read(self, path: Path, doc_id: str | None = None, *, on_page: Callable[[int, int], None] | None = None) -> Document:
        """Read one report as :func:`~search.ingest.read.read_document` does, within the limits.

        Args:
            path: the report.
            doc_id: its name; the file name when None.
            on_page: told ``(done, total)`` after each page OCR'd.

        Raises:
            DocumentError: the report cannot be read, is over a limit, took too long or needed too much memory.
        """
        doc_id = doc_id or Path(path).name
        with self._lock:
            child = self._start()
            try:
                cache = str(self.ocr_cache) if self.ocr_cache else None
                request = {"path": str(Path(path).absolute()), "doc_id": doc_id, "ocr_cache": cache}
                child.stdin.write((json.dumps(request) + "\n").encode())
                child.stdin.flush()
                answer = self._answer(child, self.limits.seconds, on_page)
            except TimeoutError:
                self._stop()
                raise _transient(f"{doc_id}: reading took longer than {self.limits.seconds:g} s (--read-seconds), "
                                 "or a page's OCR did; split the report, or raise the limit") from None
            except (OSError, ValueError, EOFError) as exc:
                self._stop()
                raise _transient(f"{doc_id}: the reader stopped while reading it ({exc or 'no answer'}); it needs "
                                 f"more than {self.limits.memory_mb} MB (--read-memory-mb) or is damaged") from None
            if answer.get("restart"):
                self._stop()  # it ran out of memory: the next read gets a fresh process
        if "error" in answer:
            raise DocumentError(answer["error"])
        return _document(answer["document"])

    def close(self) -> None:
        """Stop the child process (a later read starts another)."""
        with self._lock:
            self._stop()

    def __enter__(self) -> "BoundedReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "search.ingest.bounded", json.dumps(self.limits.to_dict())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True,
        )
        return self._child

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                pipe.close()

    @staticmethod
    def _answer(child: subprocess.Popen, seconds: float, on_page) -> dict:
        """The child's answer; TimeoutError when ``seconds`` pass without one (or without a page OCR'd),
        EOFError if it died."""
        fd, pending = child.stdout.fileno(), b""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EOFError
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                answer = json.loads(line)
                if "ocr" not in answer:
                    return answer
                deadline = time.monotonic() + seconds  # a page OCR'd: the next has as long
                if on_page:
                    on_page(*answer["ocr"])


def _transient(message: str) -> DocumentError:
    """A refusal that depends on the moment (a busy machine), not only on the file: ``transient`` is set, so a
    build reads the file again next time instead of remembering the refusal."""
    error = DocumentError(message)
    error.transient = True
    return error


def _document(data: dict) -> Document:
    return Document(data["doc_id"], data["title"], data["text"], tuple(Paragraph(*p) for p in data["paragraphs"]),
                    data["content_hash"], tuple(tuple(page) for page in data.get("ocr", ())))


def _serve(limits: ReadLimits) -> None:
    """The child: answer read requests from stdin until it closes, within ``limits.memory_mb`` of address space."""
    import resource

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the answers
    memory = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    for line in sys.stdin.buffer:
        request = json.loads(line)
        doc_id = request["doc_id"]
        ocr.CACHE_DIR.set(Path(request["ocr_cache"]) if request.get("ocr_cache") else None)
        ocr.PAGE_PROGRESS.set(lambda done, total: _say(answers, {"ocr": [done, total]}))
        try:
            doc = read_document(Path(request["path"]), doc_id, limits)
            answer = {"document": {"doc_id": doc.doc_id, "title": doc.title, "text": doc.text, "content_hash": doc.content_hash,
                                   "paragraphs": [[p.number, p.start, p.end, p.section, p.page] for p in doc.paragraphs],
                                   "ocr": [list(page) for page in doc.ocr]}}
        except DocumentError as exc:
            answer = {"error": str(exc)}
        except MemoryError:
            answer = {"error": f"{doc_id}: reading it needs more than {limits.memory_mb} MB (--read-memory-mb); "
                               "split the report, or raise the limit", "restart": True}
        except Exception as exc:  # noqa: BLE001 - any reader failure is this report's, in one line
            answer = {"error": f"{doc_id}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})"}
        _say(answers, answer)


def _say(answers, message: dict) -> None:
    answers.write((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
    answers.flush()


if __name__ == "__main__":
    _serve(ReadLimits(**json.loads(sys.argv[1])))
