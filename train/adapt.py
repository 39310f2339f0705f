"""Train the Lao adapter: a LoRA on the converted multilingual-e5-small, from laonlp's dictionary and
the project's written questions.

    pip install -e '.[train]'
    python train/adapt.py                      # writes search/model/adapter/
    python train/adapt.py --no-questions --steps 360   # the dictionary alone (the first adapter's recipe)

The data is laonlp's Lao–English dictionary (shipped in the package) and ``train/data/``: questions
written over public-domain law texts that are not in ``corpus/`` or ``eval/`` (train/data/README.md;
tests/test_training_data.py checks that no passage shares a run of words with them). No gold
question, no gold answer and no text of the bundled report or the dev library reaches training.
Kinds of contrastive pairs take turns, one kind per batch:

* ``query: <Lao word>`` → ``passage: <its English gloss>``;
* ``query: <English gloss>`` → ``passage: <Lao word>``;
* ``query: <Lao word>`` → ``passage: <the word read as Thai>`` (the model saw far more
  Thai than Lao; see search/retrieve/bridge.py);
* ``query: <question>`` → ``passage: <the paragraph that answers it>``, in Lao or English either side,
  against the batch's other paragraphs and each question's written hard negatives (paragraphs of the
  same law that do not answer it), after every third word batch (``--qa-every 4``: 360 word batches and
  120 question batches in the default 480).

The loss is in-batch softmax over cosine similarities (sentence-transformers'
MultipleNegativesRankingLoss, written out: ``datasets``/``accelerate`` trainers are not
needed). Only the LoRA matrices train (peft); the word-embedding matrix and every base
weight stay frozen, so the adapter is a few MB and the model keeps its English.
The run is seeded and single-process; its command, data hash and figures are written
next to the weights (``adapter.json``), and search/model/adapter.py merges it into the
converted model at first use.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search.ingest.lang import is_lao_char, normalize_text  # noqa: E402
from search.model.adapter import ADAPTER_DIR, CONFIG, WEIGHTS, TARGETS  # noqa: E402
from search.model.convert import PASSAGE_PREFIX, QUERY_PREFIX, converted_model_dir  # noqa: E402
from search.model.embed import default_cache_dir  # noqa: E402
from search.retrieve.bridge import read_as_thai  # noqa: E402

WORD_KINDS = ("lo>en", "en>lo", "lo>th")
QA_EVERY = 4  # with questions: one batch in four is a question batch (--qa-every)
DATA_DIR = ROOT / "train" / "data"
DATA_FILES = ("questions.jsonl", "passages-en.jsonl", "passages-lo.jsonl")


def dictionary_path() -> Path:
    import laonlp.corpus

    return Path(laonlp.corpus.__file__).parent / "lao-eng-dictionary.csv"


def _first_sense(gloss: str) -> str | None:
    """The gloss's first sense, cleaned: before , ; /, no parentheses, lower case, no leading article."""
    sense = re.split(r"[,;/]", re.sub(r"\([^)]*\)", " ", gloss))[0]
    sense = re.sub(r"\s+", " ", sense).strip().lower()
    sense = re.sub(r"^(to|a|an|the) ", "", sense)
    if not 3 <= len(sense) <= 30 or len(sense.split()) > 4 or not re.fullmatch(r"[a-z][a-z' -]*", sense):
        return None
    return sense


def dictionary_pairs(path: Path) -> list[tuple[str, str]]:
    """(Lao word, English sense) pairs: the first row of each Lao word, words written twice dropped."""
    rows: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            word = normalize_text((row.get("LaoWord") or "").strip())
            rows.setdefault(word, []).append(row.get("English") or "")
    pairs = []
    for word, glosses in rows.items():
        if not 2 <= len(word) <= 24 or not all(is_lao_char(c) or c == " " for c in word):
            continue
        sense = _first_sense(glosses[0])
        if sense:
            pairs.append((word, sense))
    return pairs


def question_triples(folder: Path = DATA_DIR) -> list[tuple[str, str, tuple[str, ...]]]:
    """(question, the paragraph that answers it, paragraphs of the same law that do not), normalised as the
    index normalises what the model reads."""
    passages = {}
    for name in DATA_FILES[1:]:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            passages[row["id"]] = normalize_text(row["text"])
    triples = []
    for line in (folder / DATA_FILES[0]).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        triples.append((normalize_text(row["question"]), passages[row["passage"]],
                        tuple(passages[n] for n in row["negatives"])))
    return triples


def question_batches(triples, size: int, seed: int):
    """Endless batches of (queries, passages, targets): ``size`` questions, their paragraphs and one hard
    negative each, no paragraph twice (a question whose paragraph is already in is left for a later batch)."""
    rng = random.Random(seed)
    order: list[int] = []
    while True:
        queries, passages, targets, later = [], [], [], []
        while len(queries) < size:
            if not order:
                order = list(range(len(triples)))
                rng.shuffle(order)
            i = order.pop()
            question, answer, negatives = triples[i]
            if answer in passages or question in queries:
                later.append(i)
                continue
            queries.append(QUERY_PREFIX + question)
            targets.append(len(passages))
            passages.append(answer)
            negative = rng.choice(negatives) if negatives else None
            if negative is not None and negative not in passages:
                passages.append(negative)
        order.extend(later)
        yield queries, [PASSAGE_PREFIX + p for p in passages], targets


def kinds_in_turn(qa_every: int | None) -> tuple[str, ...]:
    """The batches' kinds in one turn: the word kinds, with a question batch after every ``qa_every - 1`` of
    them (none when ``qa_every`` is None)."""
    if not qa_every:
        return WORD_KINDS
    words = WORD_KINDS * (qa_every - 1)
    return tuple(k for i, word in enumerate(words) for k in ((word, "qa") if i % (qa_every - 1) == qa_every - 2 else (word,)))


def batches(pairs: list[tuple[str, str]], size: int, steps: int, seed: int, triples=None, qa_size: int = 16,
            qa_every: int = QA_EVERY):
    """Yield ``steps`` batches of (kind, queries, passages, targets), kinds in turn, no text twice in a batch.

    Word batches pair query i with passage i; question batches (``triples`` given) carry hard negatives,
    so their targets say which passage answers each query."""
    rng = random.Random(seed)
    kinds = kinds_in_turn(qa_every if triples else None)
    orders = {kind: [] for kind in WORD_KINDS}
    questions = question_batches(triples, qa_size, seed) if triples else None
    for step in range(steps):
        kind = kinds[step % len(kinds)]
        if kind == "qa":
            yield (kind, *next(questions))
            continue
        queries, passages, seen = [], [], set()
        while len(queries) < size:
            if not orders[kind]:
                orders[kind] = list(range(len(pairs)))
                rng.shuffle(orders[kind])
            lao, english = pairs[orders[kind].pop()]
            query, passage = {"lo>en": (lao, english), "en>lo": (english, lao), "lo>th": (lao, read_as_thai(lao))}[kind]
            if query in seen or passage in seen:
                continue
            seen.update((query, passage))
            queries.append(QUERY_PREFIX + query)
            passages.append(PASSAGE_PREFIX + passage)
        yield kind, queries, passages, list(range(len(queries)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ADAPTER_DIR)
    parser.add_argument("--steps", type=int, default=480, help="batches in all (the dictionary-only recipe: 360)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32.0)
    parser.add_argument("--max-len", type=int, default=32, help="tokens of a word pair's texts")
    parser.add_argument("--qa-batch", type=int, default=16, help="questions in a question batch")
    parser.add_argument("--qa-max-len", type=int, default=160, help="tokens of a question batch's paragraphs")
    parser.add_argument("--qa-every", type=int, default=QA_EVERY, help="one batch in N is a question batch")
    parser.add_argument("--no-questions", action="store_true", help="the dictionary alone")
    parser.add_argument("--scale", type=float, default=20.0, help="similarity scale (1 / temperature)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.numpy import save_file
    from transformers import AutoModel, AutoTokenizer

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    data = dictionary_path()
    data_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    pairs = dictionary_pairs(data)
    print(f"{len(pairs)} dictionary pairs from {data.name} (sha256 {data_sha[:16]})", flush=True)
    triples = None if args.no_questions else question_triples()
    if triples:
        print(f"{len(triples)} written questions from {DATA_DIR.relative_to(ROOT)}", flush=True)

    base = converted_model_dir(args.cache, adapter=None)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = get_peft_model(AutoModel.from_pretrained(base), LoraConfig(
        r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=TARGETS, bias="none"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"training {sum(p.numel() for p in trainable):,} LoRA parameters", flush=True)
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / max(1, args.steps - warmup))))

    def embed(texts, max_len):
        enc = tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        states = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)

    model.train()
    kinds = WORD_KINDS + (("qa",) if triples else ())
    started, losses = time.time(), {kind: [] for kind in kinds}
    steps = batches(pairs, args.batch, args.steps, args.seed, triples, args.qa_batch, args.qa_every)
    for step, (kind, queries, passages, targets) in enumerate(steps, 1):
        query_len, passage_len = (64, args.qa_max_len) if kind == "qa" else (args.max_len, args.max_len)
        scores = embed(queries, query_len) @ embed(passages, passage_len).T * args.scale
        loss = torch.nn.functional.cross_entropy(scores, torch.tensor(targets))
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimiser.step()
        schedule.step()
        losses[kind].append(loss.item())
        if step % 20 == 0 or step == args.steps:
            recent = ", ".join(f"{k} {np.mean(v[-7:]):.3f}" for k, v in losses.items() if v)
            print(f"step {step}/{args.steps}  {time.time() - started:.0f} s  loss {recent}", flush=True)

    weights = {}
    for name, module in model.base_model.model.named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            weights[f"{name}.lora_A"] = module.lora_A["default"].weight.detach().numpy().astype(np.float16)
            weights[f"{name}.lora_B"] = module.lora_B["default"].weight.detach().numpy().astype(np.float16)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.out / WEIGHTS))
    (args.out / WEIGHTS).chmod(0o644)
    # every setting that shapes the weights (not where they are written or the model cache)
    command = (f"python train/adapt.py --steps {args.steps} --batch {args.batch} --lr {args.lr} --rank {args.rank} "
               f"--alpha {args.alpha} --max-len {args.max_len} --scale {args.scale} --seed {args.seed} --threads {args.threads}"
               + (" --no-questions" if not triples else f" --qa-batch {args.qa_batch} --qa-max-len {args.qa_max_len} --qa-every {args.qa_every}"))
    data_record = {"file": f"laonlp/corpus/{data.name}", "sha256": data_sha, "pairs": len(pairs)}
    if triples:
        data_record["questions"] = {
            "files": {f"train/data/{name}": hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest()
                      for name in DATA_FILES},
            "questions": len(triples)}
    (args.out / CONFIG).write_text(json.dumps({
        "kind": "lora", "rank": args.rank, "alpha": args.alpha, "scaling": args.alpha / args.rank,
        "targets": TARGETS, "command": command,
        "base": base.name, "data": data_record,
        "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "max_len": args.max_len,
                     "scale": args.scale, "seed": args.seed, "threads": args.threads, "kinds": list(kinds_in_turn(args.qa_every if triples else None)),
                     **({"qa_batch": args.qa_batch, "qa_max_len": args.qa_max_len} if triples else {}),
                     "seconds": round(time.time() - started), "final_loss": {k: round(float(np.mean(v[-7:])), 4)
                                                                            for k, v in losses.items() if v}},
        "weights_sha256": hashlib.sha256((args.out / WEIGHTS).read_bytes()).hexdigest(),
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out / WEIGHTS} ({(args.out / WEIGHTS).stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
