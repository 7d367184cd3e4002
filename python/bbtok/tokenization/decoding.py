"""Decoding: ids back to text (``decode``, ``batch_decode``) and transformers' optional
clean-up of the spaces before punctuation. How tokens join into text is the family's
(``convert_tokens_to_string``); a tokenizer may decode ids itself (``_decode_text``).
"""

from __future__ import annotations

from typing import Any

from bbtok.tokenization.batch_encoding import to_python
from bbtok.tokenization.hooks import TokenizerHooks

# Reference's decode clean-up, applied in this order.
_CLEAN_UP_REPLACEMENTS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


class DecodingMixin(TokenizerHooks):
    """``decode``, ``batch_decode`` and ``clean_up_tokenization`` of
    :class:`~bbtok.tokenization.base.TokenizerBase`."""

    def clean_up_tokenization(self, text: str) -> str:
        """transformers' standard clean-up: ``" ."`` -> ``"."``, ``" 've"`` -> ``"'ve"``, ..."""
        for before, after in _CLEAN_UP_REPLACEMENTS:
            text = text.replace(before, after)
        return text

    def _decode_text(self, token_ids: Any, skip_special_tokens: bool) -> str:
        """One sequence of ids (or one id) as text, before the clean-up."""
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        return self.convert_tokens_to_string(tokens)

    def _decode_one(
        self,
        token_ids: Any,
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: bool | None,
    ) -> str:
        """One sequence decoded, then cleaned up if asked (the tokenizer's default when None)."""
        text = self._decode_text(token_ids, skip_special_tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces:
            text = self.clean_up_tokenization(text)
        return text

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Ids -> text; a batch (list of lists, 2-D array) gives a list of texts.

        >>> tok.decode(tok.encode("Hello, world!"))  # doctest: +SKIP
        'hello , world !'
        """
        token_ids = to_python(token_ids)
        if (
            isinstance(token_ids, (list, tuple))
            and token_ids
            and isinstance(token_ids[0], (list, tuple))
        ):
            return [
                self._decode_one(seq, skip_special_tokens, clean_up_tokenization_spaces)
                for seq in token_ids
            ]
        return self._decode_one(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """A list of id sequences -> a list of texts."""
        result = self.decode(
            sequences,
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
        )
        return [result] if isinstance(result, str) else result
