"""How fast does bbtok's numpy model generate? bbtok against transformers on torch, in one run.

Usage (needs torch and transformers, which bbtok itself never does)::

    python -m bbtok.bench.model_speed [--shape 90M] [--shape 400M-distill] [--threads 2]
                                      [--new-tokens 32] [--repeats 3] [--cold-repeats 3]

For each ``--shape`` (default: both), a checkpoint of that model's shape with random float32
weights is written to a temporary directory:

- ``90M``: ``facebook/blenderbot_small-90M`` (BlenderbotSmall, post-LayerNorm; 8+8 layers,
  d_model 512, 16 heads, feed-forward 2048, vocabulary 54,944, 512 positions);
- ``400M-distill``: ``facebook/blenderbot-400M-distill`` (Blenderbot, pre-LayerNorm; 2
  encoder and 12 decoder layers, d_model 1280, 32 heads, feed-forward 5120, vocabulary 8,008,
  128 positions).

Both libraries load it and decode greedily at batch 1, ``--new-tokens`` tokens each (end of
sequence suppressed, so every run makes that many), with the same number of threads (torch's
intra-op threads; numpy's BLAS threads, set before numpy loads). Printed for each shape:

- tokens per second of each library (best of ``--repeats``);
- the time of one bbtok decoding step early and late in the positions, and the weight-read
  floor of a step: the fastest this machine reads, once, the weights a step touches (every
  decoder projection but the cross-attention keys and values, which are computed once, and the
  output projection), read either by one matrix-vector product per weight (BLAS, the threads)
  or by a reduction over each weight's bytes split between the threads;
- the peak resident memory of fresh processes that import, load the checkpoint, and also run it
  once (which pages every weight in), against the size of the weights.

Then, on the shipped sample checkpoint (``bbtok.data.SAMPLE_CHECKPOINT``, BlenderbotSmall with a
tiny random model), the time to the first reply from a cold process: ``bbtok generate`` against
the same with transformers (``AutoTokenizer``, ``AutoModelForSeq2SeqLM``, ``generate``,
``batch_decode``), each a new Python process timed from its start to its exit, best and median
of ``--cold-repeats``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbtok.bench.measuring import best_seconds


@dataclass(frozen=True)
class Shape:
    """A published checkpoint's shape: its config.json (without weights) and what to print."""

    description: str
    config: dict[str, Any]
    # Positions at which one decoding step is timed: early, and near the last position.
    step_positions: tuple[int, int]
    # The speed against transformers this shape is held to.
    target_ratio: float


SPECIAL_IDS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SHAPES: dict[str, Shape] = {
    "90M": Shape(
        "BlenderbotSmall 90M shape (8+8 layers, d_model 512)",
        {
            "model_type": "blenderbot-small",
            "architectures": ["BlenderbotSmallForConditionalGeneration"],
            "vocab_size": 54944,
            "d_model": 512,
            "encoder_layers": 8,
            "decoder_layers": 8,
            "encoder_attention_heads": 16,
            "decoder_attention_heads": 16,
            "encoder_ffn_dim": 2048,
            "decoder_ffn_dim": 2048,
            "max_position_embeddings": 512,
            **SPECIAL_IDS,
        },
        (8, 256),
        2.0,
    ),
    "400M-distill": Shape(
        "Blenderbot 400M-distill shape (2+12 layers, d_model 1280)",
        {
            "model_type": "blenderbot",
            "architectures": ["BlenderbotForConditionalGeneration"],
            "vocab_size": 8008,
            "d_model": 1280,
            "encoder_layers": 2,
            "decoder_layers": 12,
            "encoder_attention_heads": 32,
            "decoder_attention_heads": 32,
            "encoder_ffn_dim": 5120,
            "decoder_ffn_dim": 5120,
            "max_position_embeddings": 128,
            **SPECIAL_IDS,
        },
        (8, 120),
        1.0,
    ),
}
COMMON_CONFIG: dict[str, Any] = {
    "activation_function": "gelu",
    "scale_embedding": True,
    "decoder_start_token_id": 1,
    "forced_eos_token_id": 2,
}
SEED = 90
PROMPT_LENGTH = 24


def write_checkpoint(directory: Path, shape: Shape) -> int:
    """A random checkpoint of ``shape`` in transformers' layout, its tensors named by the
    architecture's ``bbtok.modeling.architectures`` entry; returns the weights' bytes."""
    import numpy as np
    from safetensors.numpy import save_file

    from bbtok.modeling.architectures import ARCHITECTURES

    config = {**COMMON_CONFIG, **shape.config}
    names = ARCHITECTURES[config["model_type"]]
    (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    rng = np.random.default_rng(SEED)
    width, vocab = config["d_model"], config["vocab_size"]

    def normal(*dimensions: int) -> Any:
        return rng.standard_normal(dimensions, dtype=np.float32) * np.float32(0.05)

    tensors: dict[str, Any] = {
        names.final_logits_bias: normal(1, vocab),
        names.base_prefix + names.shared_embeddings[0]: normal(vocab, width),
    }

    def add(name: str, *dimensions: int) -> None:
        tensors[names.base_prefix + name] = normal(*dimensions)

    def add_linear(name: str, out: int, inputs: int) -> None:
        add(f"{name}.weight", out, inputs)
        add(f"{name}.bias", out)

    def add_norm(name: str) -> None:
        add(f"{name}.weight", width)
        tensors[f"{names.base_prefix}{name}.weight"] += np.float32(1)
        add(f"{name}.bias", width)

    for side in ("encoder", "decoder"):
        add(names.positions.format(side=side), config["max_position_embeddings"], width)
        for side_norm in (names.embedding_norm, names.final_norm):
            if side_norm is not None:
                add_norm(side_norm.format(side=side))
        attentions = [(names.self_attention, names.self_attention_norm)]
        if side == "decoder":
            attentions.append((names.cross_attention, names.cross_attention_norm))
        ffn = config[f"{side}_ffn_dim"]
        for index in range(config[f"{side}_layers"]):
            layer = names.layer.format(side=side, index=index)
            for attention, attention_norm in attentions:
                for projection in names.attention_projections:
                    add_linear(f"{layer}.{attention}.{projection}", width, width)
                add_norm(f"{layer}.{attention_norm}")
            add_linear(f"{layer}.{names.feed_forward_in}", ffn, width)
            add_linear(f"{layer}.{names.feed_forward_out}", width, ffn)
            add_norm(f"{layer}.{names.feed_forward_norm}")
    save_file(tensors, str(directory / "model.safetensors"), {"format": "pt"})
    return sum(t.nbytes for t in tensors.values())


SETTINGS = {"num_beams": 1, "no_repeat_ngram_size": 0, "forced_eos_token_id": None}


def step_weights(model: Any) -> list[Any]:
    """The weights one decoding step reads: each decoder layer's projections (not the
    cross-attention keys' and values', computed once per input) with their biases and layer
    norms, and the output projection with its bias."""
    arrays: list[Any] = [model.lm_head, model.final_logits_bias]
    for layer in model.decoder.layers:
        self_attention, cross = layer.self_attn, layer.encoder_attn
        linears = [
            self_attention.q_proj,
            self_attention.k_proj,
            self_attention.v_proj,
            self_attention.out_proj,
            cross.q_proj,
            cross.out_proj,
            layer.feed_forward.fc1,
            layer.feed_forward.fc2,
        ]
        norms = [layer.self_attn_layer_norm, layer.encoder_attn_layer_norm, layer.final_layer_norm]
        for part in (*linears, *norms):
            arrays += [part.weight, part.bias]
    return arrays


def weight_read_floor(arrays: list[Any], threads: int, repeats: int) -> dict[str, float]:
    """Seconds to read ``arrays`` once, best of ``repeats``, by two readers: one
    matrix-vector product per matrix (BLAS's threads) and a bitwise reduction over the bytes,
    each array split between ``threads`` threads (numpy releases the GIL in reductions)."""
    import numpy as np

    matrices = [array for array in arrays if array.ndim == 2]
    vectors = [np.ones(matrix.shape[1], dtype=matrix.dtype) for matrix in matrices]
    rest = [array for array in arrays if array.ndim != 2]

    def by_products() -> None:
        for matrix, vector in zip(matrices, vectors, strict=True):
            matrix @ vector
        for array in rest:
            np.bitwise_or.reduce(array.reshape(-1).view(np.uint32))

    words = [array.reshape(-1).view(np.uint32) for array in arrays]
    parts = [part for word in words for part in np.array_split(word, threads)]

    with ThreadPoolExecutor(threads) as pool:

        def by_reduction() -> None:
            list(pool.map(np.bitwise_or.reduce, parts))

        return {
            "matrix-vector products": best_seconds(by_products, repeats),
            "bitwise reduction": best_seconds(by_reduction, repeats),
        }


def bench_bbtok(
    directory: Path, shape: Shape, prompt: Any, new_tokens: int, repeats: int, threads: int
) -> dict[str, Any]:
    import numpy as np

    from bbtok.modeling.auto import auto_model
    from bbtok.modeling.seq2seq import IncrementalDecoder, Seq2SeqForConditionalGeneration

    model = auto_model(directory)
    assert isinstance(model, Seq2SeqForConditionalGeneration)
    settings = {**SETTINGS, "max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
    model.generate(prompt, **settings)  # pages the weights in
    best = best_seconds(lambda: model.generate(prompt, **settings), repeats)
    # One step at a given position: decode up to it, then time single steps there.
    mask = np.ones(prompt.shape, dtype=bool)
    encoded = model.encode(prompt, mask).last_hidden_state
    token = np.array([1])
    step_seconds: list[tuple[int, float]] = []
    for position in shape.step_positions:
        timings = []
        for _ in range(repeats):
            decoder = IncrementalDecoder(
                model, encoded, mask, capacity=model.config.max_position_embeddings
            )
            for _ in range(position):
                decoder.step(token)
            start = time.perf_counter()
            decoder.step(token)
            timings.append(time.perf_counter() - start)
        step_seconds.append((position, min(timings)))
    touched = step_weights(model)
    return {
        "tokens/s": new_tokens / best,
        "step seconds": step_seconds,
        "step bytes": sum(array.nbytes for array in touched),
        "floor seconds": weight_read_floor(touched, threads, max(repeats, 5)),
    }


def bench_transformers(directory: Path, prompt: Any, new_tokens: int, repeats: int) -> float:
    """transformers' tokens per second on the checkpoint, best of ``repeats``."""
    import torch
    import transformers

    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    model_class = getattr(transformers, config["architectures"][0])
    model = model_class.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    ids = torch.tensor(prompt)
    settings = {**SETTINGS, "max_new_tokens": new_tokens, "min_new_tokens": new_tokens}
    with torch.inference_mode():
        model.generate(ids, **settings)
        best = best_seconds(lambda: model.generate(ids, **settings), repeats)
    return new_tokens / best


# Peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives exec on Linux, so a child
# started by a big parent would report the parent's peak.
PEAK = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) * 1024"
PEAK_SCRIPT = f"""
import sys
import numpy as np
from bbtok.modeling.auto import auto_model
model = auto_model(sys.argv[1])
if sys.argv[2] == "run":
    model(np.array([[5, 6, 7, 2]]), decoder_input_ids=np.array([[1, 5]]))
print({PEAK})
"""
BASELINE_SCRIPT = f"""
import numpy as np
import bbtok.modeling.auto
print({PEAK})
"""


def run_python(*arguments: str) -> str:
    """The standard output of a fresh Python process given ``arguments``."""
    return subprocess.run(
        [sys.executable, *arguments], check=True, capture_output=True, text=True
    ).stdout


def peak_memory(directory: Path) -> dict[str, int]:
    """Peak RSS (bytes) of fresh processes: imports only, loading, loading and one run."""

    def peak(*arguments: str) -> int:
        return int(run_python("-c", *arguments).split()[-1])

    return {
        "imports only": peak(BASELINE_SCRIPT),
        "after loading": peak(PEAK_SCRIPT, str(directory), "load"),
        "after loading and one forward pass": peak(PEAK_SCRIPT, str(directory), "run"),
    }


COLD_TEXT = "hello, how are you today?"
TRANSFORMERS_REPLY = """
import sys
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1])
inputs = tokenizer([sys.argv[2]], return_tensors="pt")
print(tokenizer.batch_decode(model.generate(**inputs), skip_special_tokens=True)[0])
"""


def time_to_reply(repeats: int) -> dict[str, tuple[list[float], str]]:
    """Seconds from a new process's start to its exit after printing a reply, for ``bbtok
    generate`` and transformers on the sample checkpoint; with the last reply printed."""
    from bbtok.data import SAMPLE_CHECKPOINT

    commands: dict[str, list[str]] = {
        "bbtok generate": ["-m", "bbtok", "generate", "--model", str(SAMPLE_CHECKPOINT), COLD_TEXT],
        "transformers": ["-c", TRANSFORMERS_REPLY, str(SAMPLE_CHECKPOINT), COLD_TEXT],
    }
    results: dict[str, tuple[list[float], str]] = {}
    for name, arguments in commands.items():
        seconds, reply = [], ""
        for _ in range(repeats):
            start = time.perf_counter()
            reply = run_python(*arguments).strip().splitlines()[-1]
            seconds.append(time.perf_counter() - start)
        results[name] = (seconds, reply)
    return results


def report_shape(name: str, threads: int, new_tokens: int, repeats: int) -> None:
    """Bench one shape and print its lines."""
    shape = SHAPES[name]
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        weight_bytes = write_checkpoint(directory, shape)
        ours = measure("bbtok", directory, name, new_tokens, repeats, threads)
        theirs = measure("transformers", directory, name, new_tokens, repeats, threads)["tokens/s"]
        memory = peak_memory(directory)
    print(
        f"{shape.description}, random float32 weights ({weight_bytes / 1e6:.0f} MB): greedy, "
        f"batch 1, prompt of {PROMPT_LENGTH} tokens, {new_tokens} new tokens, {threads} threads"
    )
    print(f"  bbtok                  {ours['tokens/s']:8.1f} tokens/s")
    print(f"  transformers           {theirs:8.1f} tokens/s")
    ratio = ours["tokens/s"] / theirs
    print(f"  ratio                  {ratio:8.2f}x   (target >= {shape.target_ratio:g}x)")
    (early, at_early), (late, at_late) = ours["step seconds"]
    print(
        f"  one bbtok step: {at_early * 1e3:.2f} ms at position {early}, {at_late * 1e3:.2f} ms "
        f"at position {late} ({at_late / at_early:.2f}x; target <= 1.5x)"
    )
    step_bytes, floors = ours["step bytes"], ours["floor seconds"]
    for reader, seconds in floors.items():
        print(
            f"  reading the {step_bytes / 1e6:.0f} MB a step touches, by {reader}: "
            f"{seconds * 1e3:.2f} ms ({step_bytes / seconds / 1e9:.1f} GB/s)"
        )
    floor = min(floors.values())
    print(f"  step at position {early} / fastest read: {at_early / floor:.2f}x   (target <= 1.3x)")
    for what, rss in memory.items():
        print(
            f"  peak RSS, {what}: {rss / 1e6:.0f} MB ({rss / weight_bytes:.2f}x the weights; "
            "target <= 1.3x after loading)"
        )


def report_time_to_reply(repeats: int) -> None:
    results = time_to_reply(repeats)
    print(
        f"time to the first reply from a cold process, sample checkpoint, {COLD_TEXT!r} "
        f"(best / median of {repeats}):"
    )
    for name, (seconds, reply) in results.items():
        print(
            f"  {name:16} {min(seconds):6.2f} s / {statistics.median(seconds):6.2f} s  "
            f"reply {reply!r}"
        )
    ours, theirs = (min(seconds) for seconds, _ in results.values())
    print(f"  ratio            {theirs / ours:6.1f}x   (target >= 5x)")


def measure(
    library: str, directory: Path, name: str, new_tokens: int, repeats: int, threads: int
) -> dict[str, Any]:
    """One library's figures on the checkpoint in ``directory``, measured in a process of its
    own, so that neither library's thread pools (torch's OpenMP threads, numpy's BLAS threads)
    compete with the other's."""
    arguments = ["--directory", str(directory), "--shape", name, "--threads", str(threads)]
    arguments += ["--new-tokens", str(new_tokens), "--repeats", str(repeats)]
    output = run_python("-m", "bbtok.bench.model_speed", "--measure", library, *arguments)
    result: dict[str, Any] = json.loads(output.splitlines()[-1])
    return result


def measure_here(args: argparse.Namespace) -> dict[str, Any]:
    """``--measure``: the figures of ``args.measure``'s library, in this process."""
    import numpy as np

    shape = SHAPES[args.shape[0]]
    prompt = np.random.default_rng(SEED).integers(5, shape.config["vocab_size"], (1, PROMPT_LENGTH))
    if args.measure == "bbtok":
        return bench_bbtok(
            args.directory, shape, prompt, args.new_tokens, args.repeats, args.threads
        )
    import torch

    torch.set_num_threads(args.threads)
    return {"tokens/s": bench_transformers(args.directory, prompt, args.new_tokens, args.repeats)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", choices=sorted(SHAPES))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-repeats", type=int, default=3)
    # What the benchmark runs in its child processes: one library on one checkpoint.
    parser.add_argument("--measure", choices=("bbtok", "transformers"), help=argparse.SUPPRESS)
    parser.add_argument("--directory", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    if args.measure:
        print(json.dumps(measure_here(args)))
        return 0
    versions = run_python("-c", "import numpy, torch; print(numpy.__version__, torch.__version__)")
    numpy_version, torch_version = versions.split()
    print(f"numpy {numpy_version}, torch {torch_version}, {args.threads} threads")
    for name in args.shape or list(SHAPES):
        report_shape(name, args.threads, args.new_tokens, args.repeats)
    if args.cold_repeats > 0:
        report_time_to_reply(args.cold_repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
