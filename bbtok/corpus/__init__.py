"""Tokenizing at corpus scale: the streaming file encoder behind ``bbtok encode`` and Ray Data."""
