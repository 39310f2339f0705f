"""Train the Lao adapter: a LoRA on the converted multilingual-e5-small, from laonlp's dictionary alone.

    pip install -e '.[train]'
    python train/adapt.py                      # writes search/model/adapter/

The data is laonlp's Lao–English dictionary (shipped in the package), nothing else:
no gold question, no gold answer and no text of the bundled report reaches training.
Three kinds of contrastive pairs take turns, one kind per batch:

* ``query: <Lao word>`` → ``passage: <its English gloss>``;
* ``query: <English gloss>`` → ``passage: <Lao word>``;
* ``query: <Lao word>`` → ``passage: <the word read as Thai>`` (the model saw far more
  Thai than Lao; see search/retrieve/bridge.py).

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

KINDS = ("lo>en", "en>lo", "lo>th")


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


def batches(pairs: list[tuple[str, str]], size: int, steps: int, seed: int):
    """Yield ``steps`` batches of (kind, queries, passages), kinds in turn, no text twice in a batch."""
    rng = random.Random(seed)
    orders = {kind: [] for kind in KINDS}
    for step in range(steps):
        kind = KINDS[step % len(KINDS)]
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
        yield kind, queries, passages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ADAPTER_DIR)
    parser.add_argument("--steps", type=int, default=360)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32.0)
    parser.add_argument("--max-len", type=int, default=32)
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

    def embed(texts):
        enc = tokenizer(texts, padding=True, truncation=True, max_length=args.max_len, return_tensors="pt")
        states = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)

    model.train()
    started, losses = time.time(), {kind: [] for kind in KINDS}
    for step, (kind, queries, passages) in enumerate(batches(pairs, args.batch, args.steps, args.seed), 1):
        scores = embed(queries) @ embed(passages).T * args.scale
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(queries)))
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
               f"--alpha {args.alpha} --max-len {args.max_len} --scale {args.scale} --seed {args.seed} --threads {args.threads}")
    (args.out / CONFIG).write_text(json.dumps({
        "kind": "lora", "rank": args.rank, "alpha": args.alpha, "scaling": args.alpha / args.rank,
        "targets": TARGETS, "command": command,
        "base": base.name, "data": {"file": f"laonlp/corpus/{data.name}", "sha256": data_sha, "pairs": len(pairs)},
        "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "max_len": args.max_len,
                     "scale": args.scale, "seed": args.seed, "threads": args.threads, "kinds": list(KINDS),
                     "seconds": round(time.time() - started), "final_loss": {k: round(float(np.mean(v[-7:])), 4)
                                                                            for k, v in losses.items() if v}},
        "weights_sha256": hashlib.sha256((args.out / WEIGHTS).read_bytes()).hexdigest(),
    }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out / WEIGHTS} ({(args.out / WEIGHTS).stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
