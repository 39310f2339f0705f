"""Cut the English training passages out of the United States Code (public domain).

    python train/build_passages.py GIT_DIR      # writes train/data/passages-en.jsonl

GIT_DIR is a clone of codexstanford/markdonw-chunck-of-the-usa-code (commit below); the
chapters chosen are ones no file of corpus/, eval/ or the shared library holds. A passage
is one paragraph of a section (1–5 sentences as an index would cut it); a paragraph under
80 characters (a lead-in such as "Congress finds that") is joined to the next one, and one
over 900 is dropped. A passage sharing a 12-word run with corpus/ or eval/ is dropped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train.overlap import Reference, reference_files  # noqa: E402

COMMIT = "66d0b20a5e0521c0ffa33fe40368e4148bff046b"
CHAPTERS = {  # doc id -> (title folder, chapter heading as the files spell it)
    "us-code-title-29-ch14": ("title-29", "CHAPTER 14— AGE DISCRIMINATION IN EMPLOYMENT"),
    "us-code-title-29-ch22": ("title-29", "CHAPTER 22— EMPLOYEE POLYGRAPH PROTECTION"),
    "us-code-title-29-ch23": ("title-29", "CHAPTER 23— WORKER ADJUSTMENT AND RETRAINING NOTIFICATION"),
    "us-code-title-29-ch28": ("title-29", "CHAPTER 28— FAMILY AND MEDICAL LEAVE"),
    "us-code-title-34-ch207": ("title-34", "CHAPTER 207— COMBATING DOMESTIC TRAFFICKING IN PERSONS"),
    "us-code-title-34-ch217": ("title-34", "CHAPTER 217— ELDER ABUSE PREVENTION AND PROSECUTION"),
    "us-code-title-34-ch203": ("title-34", "CHAPTER 203— VICTIMS OF CHILD ABUSE"),
    "us-code-title-42-ch110": ("title-42", "CHAPTER 110— FAMILY VIOLENCE PREVENTION AND SERVICES"),
    "us-code-title-08-ch14": ("title-08", "CHAPTER 14— RESTRICTING WELFARE AND PUBLIC BENEFITS FOR ALIENS"),
}
MIN_CHARS, MAX_CHARS = 80, 900


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True,
                          capture_output=True, text=True).stdout


def chapter_files(git_dir: str, folder: str, heading: str) -> list[str]:
    out = git(git_dir, "grep", "-l", "-F", f"### {heading}", COMMIT, "--", f"chuncks/{folder}")
    names = [line.split(":", 1)[1] for line in out.splitlines()]
    return sorted(names, key=lambda n: int(re.search(r"(\d+)\.md$", n).group(1)))


def paragraphs(markdown: str) -> list[str]:
    """Body paragraphs of one section file, short lead-ins joined to what follows."""
    out, carry = [], ""
    for block in re.split(r"\n\s*\n", markdown):
        block = " ".join(block.split())
        if not block or block.startswith("#"):
            continue
        block = f"{carry} {block}".strip()
        if len(block) < MIN_CHARS:
            carry = block
            continue
        carry = ""
        if len(block) <= MAX_CHARS:
            out.append(block)
    return out


def build(git_dir: str) -> list[dict]:
    ref = Reference(reference_files(ROOT))
    rows, seen = [], set()
    for doc, (folder, heading) in CHAPTERS.items():
        n = 0
        for name in chapter_files(git_dir, folder, heading):
            for text in paragraphs(git(git_dir, "show", f"{COMMIT}:{name}")):
                if text in seen or ref.leaks(text):
                    continue
                seen.add(text)
                n += 1
                rows.append({"id": f"{doc}#{n}", "doc": doc,
                             "source": f"codexstanford/markdonw-chunck-of-the-usa-code@{COMMIT[:8]}:{name}",
                             "text": text})
    return rows


def main() -> None:
    rows = build(sys.argv[1])
    path = ROOT / "train" / "data" / "passages-en.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} passages -> {path}")


if __name__ == "__main__":
    main()
