"""Generation for the numpy runner: settings resolved as transformers resolves them
(``settings``), greedy and beam search (``search``), and torch's tie order among equal scores
(``torch_top_k``)."""

from bbtok.generation.search import StepModel, generate
from bbtok.generation.settings import GenerationSettings

__all__ = ["GenerationSettings", "StepModel", "generate"]
