"""The Hugging Face tokenizer surface shared by every tokenizer family: call dispatch, special
and added tokens, padding and truncation, BatchEncoding, decoding and pretrained I/O."""
