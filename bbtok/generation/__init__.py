"""Generation for the numpy runner: settings resolved as transformers resolves them, greedy and
beam search, and torch's tie order among equal scores."""

from bbtok.generation.search import GenerationSettings, StepModel, generate

__all__ = ["GenerationSettings", "StepModel", "generate"]
