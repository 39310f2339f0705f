"""The page's example questions: about the reports the index holds, in Lao and English.

Each report in the index brings its own examples, from the first of:

1. the corpus folder's examples file, ``.examples.txt`` (UTF-8): a line ``[report file name]``, then that
   report's questions, one a line (``#`` starts a note). It is read again whenever it changes; a report's
   questions are shown only while the report is in the index.
2. the bundled report's own examples (:data:`BUNDLED_EXAMPLES`, checked against the real model by
   tests/test_examples.py), when the index holds that report's exact text under any name;
3. a question made from the report's title and one of its first headings (or the title alone), in Lao and in
   English; one is shown only when its search finds that report's passage first (a made question that found
   another report would mislead).

The page shows :data:`SHOWN` of them, a report at a time in turn (so a library's examples are not all about
one report), Lao and English in turn where both exist. The dot keeps the file out of the index
(``list_corpus`` skips dot-files) and out of reach of uploads (``safe_file_name`` drops leading dots).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from search.cite import path_parts
from search.errors import SearchError
from search.ingest.lang import LAO, lao_share
from search.retrieve.checks import MAX_QUESTION_CHARS
from search.retrieve.engine import Searcher

log = logging.getLogger(__name__)

EXAMPLES_FILE = ".examples.txt"
SHOWN = 4
# The bundled report (corpus/laos-tip-2022-voa.txt), known by its text's SHA-256 under any file name: an edited
# copy is another text, whose examples are made as any report's are. The first (Lao) is answered in the answer box
# by a Lao passage, the second (English) by an English one, the third (Lao) by an English one; the fourth (English)
# finds a Lao passage first.
BUNDLED_SHA256 = "6eaa3edcccbd5db6e6dae3359d930f0e5dfcb964c6d5faf2d9903c5fe0bb7ff9"
BUNDLED_EXAMPLES = (
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍຈາກການຄ້າມະນຸດໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "How many police officers were trained on anti-trafficking laws?",
    "ມີຜູ້ຄ້າມະນຸດຈັກຄົນຖືກສານຕັດສິນລົງໂທດໃນປີ 2021?",
    "Which groups lacked access to victim protection services?",
)
# Questions made from a report's title (and a heading); the names are quoted, so any title reads right.
_ASKED = {
    (LAO, True): "“{title}” ກ່າວເຖິງຫຍັງແດ່ ໃນພາກ “{heading}”?",
    ("en", True): "What does “{title}” say under “{heading}”?",
    (LAO, False): "ຂໍ້ມູນສຳຄັນຂອງ “{title}” ມີຫຍັງແດ່?",
    ("en", False): "What are the main points of “{title}”?",
}
TITLE_CHARS, HEADING_CHARS = 70, 50  # longer names are cut at a word, with "…"


@dataclass(frozen=True)
class Example:
    """One example question.

    Attributes:
        question: the question, as shown and searched.
        document: the report it is about (its file name in the corpus).
        lang: ``"lo"`` or ``"en"``.
        source: ``"file"`` (the examples file), ``"bundled"`` or ``"made"`` (from the title and a heading).
    """

    question: str
    document: str
    lang: str
    source: str


def read_examples_file(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """The questions of an examples file, per report, in the file's order, and its problems in words.

    A missing file holds none. A question before any ``[report]`` line, one too long to search, or a file
    that is not UTF-8 is a problem (named with its line), and left out; the rest is used.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: cannot be read as UTF-8 text ({exc}); no question of it is shown"]
    questions: dict[str, list[str]] = {}
    problems, report = [], None
    for number, line in enumerate(text.splitlines(), 1):
        line = unicodedata.normalize("NFC", line).strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            report = line[1:-1].strip()
            questions.setdefault(report, [])
        elif report is None:
            problems.append(f"{path}, line {number}: a question before any [report file name] line; left out")
        elif len(line) > MAX_QUESTION_CHARS:
            problems.append(f"{path}, line {number}: longer than {MAX_QUESTION_CHARS} characters; left out")
        elif line not in questions[report]:
            questions[report].append(line)
    return questions, problems


def made_questions(title: str, heading: str | None) -> list[tuple[str, str]]:
    """Questions about a report made from its title and one heading (or the title alone): ``(lang, question)``,
    in Lao and in English."""
    names = {"title": _name(title, TITLE_CHARS), "heading": _name(heading or "", HEADING_CHARS)}
    return [(lang, _ASKED[lang, bool(names["heading"])].format(**names)) for lang in (LAO, "en")]


def headings(searcher: Searcher, document: str, most: int = 3) -> list[str]:
    """The report's first ``most`` headings that name something: not its title, not a numbered clause ("(a)
    Except as otherwise provided…", "(13)"), short enough to quote; one over all its passages (a chapter's
    name repeated on each) after the others."""
    index = searcher.index
    rows = index.document_rows.get(document, [])
    title = index.manifest.documents.get(document, {}).get("title")
    seen: dict[str, int] = {}
    for row in rows[:200]:  # the first ones are enough, and a long report's passages are not all read
        for heading in path_parts(index.passages[row].citation.section):
            seen[heading] = seen.get(heading, 0) + 1
    named = [h for h in seen if h != title and len(h) <= HEADING_CHARS and re.search(r"[^\W\d_]{3}", h)
             and not h.startswith("(")]
    return sorted(named, key=lambda h: seen[h] == len(rows))[:most]  # a heading over every passage last


def choose(pools: list[list[Example]], count: int = SHOWN) -> list[Example]:
    """``count`` examples, a report at a time in turn (each pool is one report's, best first). A made question
    is taken in the language shown less so far, so Lao and English take turns where both are made."""
    pools = [list(pool) for pool in pools]
    chosen: list[Example] = []
    while len(chosen) < count and any(pools):
        for pool in pools:
            if not pool or len(chosen) == count:
                continue
            lao = sum(e.lang == LAO for e in chosen)
            want = LAO if lao <= len(chosen) - lao else "en"
            pick = next((e for e in pool if e.lang == want), pool[0]) if pool[0].source == "made" else pool[0]
            pool.remove(pick)
            chosen.append(pick)
    return chosen


class Examples:
    """The page's examples for what the index holds now, made again when the index or the file changes.

    Args:
        searcher: the app's searcher (its index is followed).
        corpus_dir: the corpus folder, which holds the examples file.
        count: how many are shown.
    """

    def __init__(self, searcher: Searcher, corpus_dir: Path, *, count: int = SHOWN):
        self.searcher, self.path, self.count = searcher, Path(corpus_dir) / EXAMPLES_FILE, count
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._shown: list[Example] = []

    def current(self) -> list[Example]:
        """The examples to show now."""
        with self._lock:
            index = self.searcher.index
            stamp = (index.path, index.manifest.created, _file_stamp(self.path))
            if stamp != self._stamp:
                self._shown, self._stamp = self._make(), stamp
            return list(self._shown)

    def _make(self) -> list[Example]:
        index = self.searcher.index
        documents = index.manifest.documents
        held = [d for d in documents if index.document_rows.get(d)]
        written, problems = read_examples_file(self.path)
        for problem in problems:
            log.warning("examples file: %s", problem)
        pools = {d: [Example(q, d, _lang(q), "file") for q in written[d]] for d in written if d in held and written[d]}
        for d in held:
            if d not in pools and documents[d].get("sha256") == BUNDLED_SHA256:
                pools[d] = [Example(q, d, _lang(q), "bundled") for q in BUNDLED_EXAMPLES]
        bare = [d for d in held if d not in pools]
        made: dict[str, list[Example]] = {}
        for start in range(0, len(bare), self.count):  # a few reports at a time, until each shown one has a report
            made.update(self._made(bare[start:start + self.count]))
            if len(pools) + len(made) >= self.count:
                break
        order = [d for d in written if d in pools] + [d for d in held if d in pools and d not in written]
        return choose([pools[d] for d in order] + [made[d] for d in bare if d in made], self.count)

    def _made(self, documents: list[str]) -> dict[str, list[Example]]:
        """For each report, in each language, the first question made from its title and headings whose search
        finds that report's passage first; tried a round at a time, so a report found at once costs one search."""
        index = self.searcher.index
        tries: dict[tuple[str, str], list[str]] = {}
        for d in documents:
            title = index.manifest.documents[d].get("title") or d
            for heading in [*headings(self.searcher, d), None]:
                for lang, question in made_questions(title, heading):
                    tries.setdefault((d, lang), []).append(question)
        found: dict[str, list[Example]] = {}
        while tries:
            asked = [(d, lang, questions.pop(0)) for (d, lang), questions in tries.items()]
            try:
                results = self.searcher.search_batch([q for _, _, q in asked], k=1)
            except SearchError as exc:  # the index changed meanwhile, say: no made examples this time
                log.warning("examples: the questions made from titles could not be searched: %s", exc)
                return {}
            for (d, lang, question), result in zip(asked, results):
                if result.hits and result.hits[0].citation.document == d:
                    found.setdefault(d, []).append(Example(question, d, lang, "made"))
                    tries[d, lang] = []
            tries = {key: questions for key, questions in tries.items() if questions}
        return {d: sorted(found[d], key=lambda e: e.lang != LAO) for d in documents if d in found}


def _lang(question: str) -> str:
    return LAO if lao_share(question) >= 0.5 else "en"


def _name(text: str, limit: int) -> str:
    """A title or heading to quote in a question: one line, no invisible characters, cut at a word."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = " ".join(text.replace("“", "").replace("”", "").split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:—–-") + "…"


def _file_stamp(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
