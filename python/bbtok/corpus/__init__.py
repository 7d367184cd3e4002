"""Tokenizing at corpus scale: the streaming file encoder behind ``bbtok encode`` (the pipeline in
``file_encoder``, its inputs in ``records``, its outputs in ``sinks``, what it shows a person in
``progress``) and Ray Data (``ray_data``)."""
