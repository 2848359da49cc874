"""docpipe: pre-review of China E-Port card applications.

Reads every attachment of a submission, cross-checks it against the filed fields and
the portal's rules, and writes a report a reviewer can act on.
"""

import sys as _sys
from importlib import metadata as _metadata


def package_version(package: str = "docpipe") -> str:
    """The installed version of ``package`` (docpipe's own by default), or ``0+unknown``."""
    try:
        return _metadata.version(package)
    except _metadata.PackageNotFoundError:
        return "0+unknown"


# PyMuPDF 2 imports its optional layout analyser and Markdown converter (pymupdf.layout,
# pymupdf4llm: an ONNX model on onnxruntime, tqdm, psutil, ...) whenever they are
# installed, which they are as PyMuPDF's own dependencies: 0.7 s of every process's
# start, and an OCR runtime loaded by a review that reads only its cache. docpipe never
# asks PyMuPDF for a layout or for Markdown; PyMuPDF imports both in a try and goes on
# without them.
for _optional in ("pymupdf.layout", "pymupdf4llm"):
    _sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]
