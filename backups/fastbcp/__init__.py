"""A columnar BCP codec: whole batches of column values to BCP bytes and back with numpy and Arrow (nanoarrow).

``backups.bacpac`` (pure Python, standard library only) is the reference: this package produces the same bytes
and the same values for the types it covers, and the tests compare the two on every sample and on generated rows.
Anything it does not cover stays on the reference codec (the native engine decides per table).

- ``columns``: the column forms both directions share (numpy arrays of days, ticks, UTF-16 bytes…), and their
  conversion from and to Arrow arrays;
- ``encode``: a batch of columns → the rows' BCP bytes, written field by field with vectorised scatters;
- ``decode``: BCP bytes → a batch of columns: a per-table walk finds where rows start, numpy reads each field;
- ``deflate``: standard ZIP deflate with ISA-L in a writer thread.
"""

from __future__ import annotations

from .columns import UnsupportedColumn, export_supported, import_supported
from .decode import TableDecoder
from .encode import encode_batch

__all__ = ["TableDecoder", "UnsupportedColumn", "encode_batch", "export_supported", "import_supported"]
