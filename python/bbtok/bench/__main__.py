"""``python -m bbtok.bench`` and ``bbtok bench``: the benchmark the arguments pick.

- no mode option: tokenizer throughput, every contender on the same text
  (:mod:`bbtok.bench.tokenizer_speed`);
- ``--steady``: the steady state of a corpus pipeline (:mod:`bbtok.bench.steady_state`);
- ``--pipelines``: Arrow, ``datasets``, ``bbtok encode`` and Ray Data against the core
  (:mod:`bbtok.bench.pipelines`).

The mode option may come anywhere among the arguments; the others go to that benchmark's own
options (``--steady -h`` lists them). The model runner's speed is a command of its own:
``python -m bbtok.bench.model_speed``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

STEADY = "--steady"
PIPELINES = "--pipelines"
# Listed in the default benchmark's help, which is what `python -m bbtok.bench -h` shows.
MODE_HELP = (
    (
        STEADY,
        f"measure the steady state of a corpus pipeline instead ({STEADY} -h for its options)",
    ),
    (
        PIPELINES,
        "measure Arrow, datasets, bbtok encode and Ray Data against the core instead "
        f"({PIPELINES} -h for its options)",
    ),
)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    """Run the benchmark ``argv`` picks with the rest of ``argv``; ``prog``: the name the
    usage shows (``bbtok bench``; by default Python's name for the program)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    mode_prog = prog or "python -m bbtok.bench"
    if STEADY in arguments:
        from bbtok.bench import steady_state

        arguments.remove(STEADY)
        steady_state.main(arguments, prog=f"{mode_prog} {STEADY}")
    elif PIPELINES in arguments:
        from bbtok.bench import pipelines

        arguments.remove(PIPELINES)
        pipelines.main(arguments, prog=f"{mode_prog} {PIPELINES}")
    else:
        from bbtok.bench import tokenizer_speed

        tokenizer_speed.main(arguments, prog=prog, other_modes=MODE_HELP)


if __name__ == "__main__":
    main()
