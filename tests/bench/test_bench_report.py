"""What ``python -m bbtok.bench`` says of its targets: met or missed, in a user's words."""

from __future__ import annotations

import pytest

from bbtok.bench.tokenizer_speed import Throughput, Timing, print_targets


def test_the_targets_are_reported_as_met_or_missed(capsys: pytest.CaptureFixture[str]) -> None:
    # Fast: 1 s on 1 thread; HF tokenizers 20 s (20x: met), pure-Python 50 s (50x: missed).
    results = Throughput(
        fast_whole={1: Timing(cold=1.0)},
        fast_part={1: Timing(cold=1.0)},
        hf_whole=Timing(cold=20.0),
        hf_part=Timing(cold=20.0),
        pure=Timing(cold=50.0),
        reference=Timing(cold=30.0),
    )
    print_targets(results, short_us=2.0, load_ms=80.0, cores=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "targets (the fast tokenizer's cold figures, whole text unless said):"
    verdicts = [line.split()[-1] for line in lines[2:6]]
    assert verdicts == ["met", "missed", "met", "missed"]
