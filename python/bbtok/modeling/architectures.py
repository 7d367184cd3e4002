"""Each architecture the runner knows, as data: its configuration class, where its layers put
their layer norms, and the names of its tensors in a transformers checkpoint.

The loader (``bbtok.modeling.loading``) reads only these names, so another member of the family
whose checkpoints differ in names or norms is a new ``Architecture`` value, not new loader code.
Names are those of the base model (``model.`` in front of them in a ``...ForConditionalGeneration``
checkpoint, as transformers saves it) unless said otherwise; ``{side}`` is ``encoder`` or
``decoder`` and ``{index}`` a layer's number.
"""

from __future__ import annotations

from dataclasses import dataclass

from bbtok.modeling.config import BlenderbotConfig, BlenderbotSmallConfig, Seq2SeqConfig


@dataclass(frozen=True)
class Architecture:
    """One architecture's layer-norm placement and tensor names."""

    model_type: str
    # What transformers' class names of the architecture start with (``BlenderbotSmall`` of
    # ``BlenderbotSmallForConditionalGeneration``).
    class_prefix: str
    config_class: type[Seq2SeqConfig]
    # Normalize before each block (x + block(norm(x))) instead of after each residual sum.
    pre_layer_norm: bool
    # Whether the decoder scales its token embeddings by sqrt(d_model) under scale_embedding,
    # as the encoder does.
    scale_decoder_embeddings: bool
    # transformers' prefix of the base model's tensors in a checkpoint of the whole model; a
    # checkpoint of the base model alone has none.
    base_prefix: str = "model."
    # The token embeddings shared by encoder, decoder and (tied) output projection: the first of
    # these names the checkpoint holds.
    shared_embeddings: tuple[str, ...] = ("shared.weight", "encoder.embed_tokens.weight")
    # Copies of the shared embeddings a checkpoint may hold as well; they are not read.
    tied_embeddings: tuple[str, ...] = (
        "encoder.embed_tokens.weight",
        "decoder.embed_tokens.weight",
    )
    positions: str = "{side}.embed_positions.weight"
    # The layer norm of the embeddings (post-LayerNorm models), None when there is none.
    embedding_norm: str | None = "{side}.layernorm_embedding"
    # The layer norm after the last layer (pre-LayerNorm models), None when there is none.
    final_norm: str | None = None
    layer: str = "{side}.layers.{index}"
    # A layer's parts, under its name.
    self_attention: str = "self_attn"
    self_attention_norm: str = "self_attn_layer_norm"
    cross_attention: str = "encoder_attn"
    cross_attention_norm: str = "encoder_attn_layer_norm"
    feed_forward_in: str = "fc1"
    feed_forward_out: str = "fc2"
    feed_forward_norm: str = "final_layer_norm"
    # An attention's projections, under its name.
    attention_projections: tuple[str, str, str, str] = ("q_proj", "k_proj", "v_proj", "out_proj")
    # The output projection and its bias, outside the base model (no prefix); the projection is
    # the shared embeddings when the configuration ties them, and the bias zeros when absent.
    lm_head: str = "lm_head.weight"
    final_logits_bias: str = "final_logits_bias"

    @property
    def unprefixed(self) -> tuple[str, str]:
        """The names that stay outside the base model's prefix."""
        return (self.lm_head, self.final_logits_bias)


BLENDERBOT_SMALL = Architecture(
    model_type="blenderbot-small",
    class_prefix="BlenderbotSmall",
    config_class=BlenderbotSmallConfig,
    pre_layer_norm=False,
    # Quirk: transformers 5 computes the decoder's scale and never applies it.
    scale_decoder_embeddings=False,
)

# Blenderbot 400M-3B: layer norms before each block and after the last layer, none on the
# embeddings; its learned positions start at 0 (no offset), as BlenderbotSmall's.
BLENDERBOT = Architecture(
    model_type="blenderbot",
    class_prefix="Blenderbot",
    config_class=BlenderbotConfig,
    pre_layer_norm=True,
    scale_decoder_embeddings=True,
    embedding_norm=None,
    final_norm="{side}.layer_norm",
)

ARCHITECTURES = {
    architecture.model_type: architecture for architecture in (BLENDERBOT_SMALL, BLENDERBOT)
}
