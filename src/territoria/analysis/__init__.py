"""Pure statistics: DataFrames in, DataFrames and figures out.

Nothing here imports ``cli``, ``pipeline``, ``report`` or ``ingest``; notebooks call these
functions and read the store.
"""
