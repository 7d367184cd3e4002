"""The BlenderbotSmall tokenizer family: lowercasing, punctuation splitting and BPE with ``@@``
continuation, in pure Python and on the Rust core, and a trainer for new vocabularies."""
