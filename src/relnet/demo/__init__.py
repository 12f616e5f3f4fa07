"""``relnet demo``: a local web page over the committed weights (Sudoku RRN beliefs, Sort-of-CLEVR, bAbI
and CLEVR pairs).

Standard library only (``http.server``), so the ``demo`` extra installs nothing heavy; see docs/demo.md.
"""

from relnet.demo.server import make_server

__all__ = ["make_server"]
