"""How fast does bbtok's numpy model generate? bbtok against transformers on torch, in one run.

Usage (needs torch and transformers, which bbtok itself never does)::

    python -m bbtok.bench.model_speed [--threads 2] [--new-tokens 32] [--repeats 3]

A checkpoint of ``facebook/blenderbot_small-90M``'s shape (8+8 layers, d_model 512, 16 heads,
feed-forward 2048, vocabulary 54,944, 512 positions) with random float32 weights is written to a
temporary directory; both libraries load it and decode greedily at batch 1, ``--new-tokens``
tokens each (end of sequence suppressed, so every run makes that many), with the same number of
threads (torch's intra-op threads; numpy's BLAS threads, set before numpy loads). Printed: tokens
per second of each (best of ``--repeats``), the time of one decoding step at positions 8 and
256, and the peak resident memory of a process that loads the checkpoint (and of one that also
runs it once, which pages every weight in) against the size of the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bbtok.bench.tokenizer_speed import best_seconds

SHAPE: dict[str, Any] = {
    "vocab_size": 54944,
    "d_model": 512,
    "encoder_layers": 8,
    "decoder_layers": 8,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "max_position_embeddings": 512,
    "activation_function": "gelu",
    "scale_embedding": True,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "decoder_start_token_id": 1,
    "forced_eos_token_id": 2,
}
SEED = 90
PROMPT_LENGTH = 24


def write_checkpoint(directory: Path) -> int:
    """A random checkpoint of the 90M shape in transformers' layout; returns the weights' bytes."""
    import numpy as np
    from safetensors.numpy import save_file

    config = {
        "model_type": "blenderbot-small",
        "architectures": ["BlenderbotSmallForConditionalGeneration"],
        **SHAPE,
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    rng = np.random.default_rng(SEED)
    width, ffn, vocab = SHAPE["d_model"], SHAPE["encoder_ffn_dim"], SHAPE["vocab_size"]

    def normal(*shape: int) -> Any:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.05)

    tensors: dict[str, Any] = {
        "final_logits_bias": normal(1, vocab),
        "model.shared.weight": normal(vocab, width),
    }
    for side in ("encoder", "decoder"):
        positions = SHAPE["max_position_embeddings"]
        tensors[f"model.{side}.embed_positions.weight"] = normal(positions, width)
        tensors[f"model.{side}.layernorm_embedding.weight"] = 1 + normal(width)
        tensors[f"model.{side}.layernorm_embedding.bias"] = normal(width)
        attentions = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
        for i in range(SHAPE[f"{side}_layers"]):
            layer = f"model.{side}.layers.{i}"
            for attention in attentions:
                for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    tensors[f"{layer}.{attention}.{projection}.weight"] = normal(width, width)
                    tensors[f"{layer}.{attention}.{projection}.bias"] = normal(width)
                tensors[f"{layer}.{attention}_layer_norm.weight"] = 1 + normal(width)
                tensors[f"{layer}.{attention}_layer_norm.bias"] = normal(width)
            tensors[f"{layer}.fc1.weight"] = normal(ffn, width)
            tensors[f"{layer}.fc1.bias"] = normal(ffn)
            tensors[f"{layer}.fc2.weight"] = normal(width, ffn)
            tensors[f"{layer}.fc2.bias"] = normal(width)
            tensors[f"{layer}.final_layer_norm.weight"] = 1 + normal(width)
            tensors[f"{layer}.final_layer_norm.bias"] = normal(width)
    save_file(tensors, str(directory / "model.safetensors"), {"format": "pt"})
    return sum(t.nbytes for t in tensors.values())


SETTINGS = {"num_beams": 1, "no_repeat_ngram_size": 0, "forced_eos_token_id": None}


def bench_bbtok(directory: Path, prompt: Any, new_tokens: int, repeats: int) -> dict[str, float]:
    import numpy as np

    from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration, IncrementalDecoder

    model = BlenderbotSmallForConditionalGeneration.from_pretrained(directory)
    settings = {**SETTINGS, "max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
    model.generate(prompt, **settings)  # pages the weights in
    best = best_seconds(lambda: model.generate(prompt, **settings), repeats)
    # One step at a given position: decode up to it, then time single steps there.
    mask = np.ones(prompt.shape, dtype=bool)
    encoded = model.encode(prompt, mask)
    step_ms: dict[str, float] = {}
    decoder = IncrementalDecoder(
        model, encoded, mask, capacity=model.config.max_position_embeddings
    )
    token = np.array([1])
    for position in range(257):
        if position in (8, 256):
            start = time.perf_counter()
            decoder.step(token)
            step_ms[f"step at position {position} (ms)"] = (time.perf_counter() - start) * 1e3
        else:
            decoder.step(token)
    return {"tokens/s": new_tokens / best, **step_ms}


def bench_transformers(
    directory: Path, prompt: Any, new_tokens: int, repeats: int
) -> dict[str, float]:
    import torch
    from transformers import BlenderbotSmallForConditionalGeneration

    model = BlenderbotSmallForConditionalGeneration.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    ids = torch.tensor(prompt)
    settings = {**SETTINGS, "max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
    with torch.inference_mode():
        model.generate(ids, **settings)
        best = best_seconds(lambda: model.generate(ids, **settings), repeats)
    return {"tokens/s": new_tokens / best}


# Peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives exec on Linux, so a child
# started by a big parent would report the parent's peak.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) * 1024"
PEAK_SCRIPT = f"""
import sys
import numpy as np
from bbtok.modeling.seq2seq import BlenderbotSmallForConditionalGeneration as M
model = M.from_pretrained(sys.argv[1])
if sys.argv[2] == "run":
    model(np.array([[5, 6, 7, 2]]), decoder_input_ids=np.array([[1, 5]]))
print({PEAK})
"""
BASELINE_SCRIPT = f"""
import numpy as np
import bbtok.modeling.seq2seq
print({PEAK})
"""


def peak_memory(directory: Path) -> dict[str, int]:
    """Peak RSS (bytes) of fresh processes: imports only, loading, loading and one run."""

    def run(*args: str) -> int:
        output = subprocess.run(
            [sys.executable, "-c", *args], check=True, capture_output=True, text=True
        ).stdout
        return int(output.split()[-1])

    return {
        "imports only": run(BASELINE_SCRIPT),
        "after loading": run(PEAK_SCRIPT, str(directory), "load"),
        "after loading and one forward pass": run(PEAK_SCRIPT, str(directory), "run"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    prompt = np.random.default_rng(SEED).integers(5, SHAPE["vocab_size"], (1, PROMPT_LENGTH))
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        weight_bytes = write_checkpoint(directory)
        ours = bench_bbtok(directory, prompt, args.new_tokens, args.repeats)
        theirs = bench_transformers(directory, prompt, args.new_tokens, args.repeats)
        memory = peak_memory(directory)
    print(
        f"greedy decoding, batch 1, prompt of {PROMPT_LENGTH} tokens, {args.new_tokens} new "
        f"tokens, {args.threads} threads, 90M shape, random float32 weights "
        f"({weight_bytes / 1e6:.0f} MB)"
    )
    print(f"  bbtok (numpy {np.__version__})        {ours['tokens/s']:8.1f} tokens/s")
    print(f"  transformers on torch {torch.__version__}  {theirs['tokens/s']:8.1f} tokens/s")
    ratio = ours["tokens/s"] / theirs["tokens/s"]
    print(f"  ratio                          {ratio:8.2f}x   (target >= 2x)")
    at_8, at_256 = ours["step at position 8 (ms)"], ours["step at position 256 (ms)"]
    print(
        f"  one bbtok step: {at_8:.2f} ms at position 8, {at_256:.2f} ms at position 256 "
        f"({at_256 / at_8:.2f}x; target <= 1.5x)"
    )
    for what, rss in memory.items():
        print(
            f"  peak RSS, {what}: {rss / 1e6:.0f} MB ({rss / weight_bytes:.2f}x the weights; "
            "target <= 1.3x after loading)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
