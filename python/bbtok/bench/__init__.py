"""Benchmarks: tokenizer throughput (``python -m bbtok.bench``) and model decoding speed
(``python -m bbtok.bench.model_speed``)."""
