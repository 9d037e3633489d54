"""Triton python-backend model sources, copied as `model.py` into repository versions by `shared.serving.repository`.

They run inside Triton's python backend stub (they import its
`triton_python_backend_utils`), never in the terrafake processes. This file
only makes them part of the installed package.
"""
