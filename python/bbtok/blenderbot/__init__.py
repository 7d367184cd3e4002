"""The Blenderbot family (facebook/blenderbot-400M-distill, -1B-distill, -3B): byte-level BPE on
the ``tokenizers`` library, and a trainer for new vocabularies."""
