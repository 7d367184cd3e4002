"""Reading and writing what users keep: local files (size limits, atomic writes) and the
Hugging Face hub cache."""
