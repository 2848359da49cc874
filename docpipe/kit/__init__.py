"""What an extractor reads with: one import surface for the modules in ``extractors/``.

The region an extractor is given and the decorator that registers it, the kind spec it
declares, the layout layer (labels, rows, the value beside or under a label), and the
value readers every card shares (``docpipe.kit.values``). Nothing here reviews: the
comparison policy and the re-reading stages stay out of the kit.
"""

from docpipe.checkdigits import is_valid_id
from docpipe.extract import Region, extractor
from docpipe.kinds import KindSpec, Role, spec_field
from docpipe.kit.values import (
    LONG_TERM_WORDS,
    chinese_name,
    date_of,
    gender_of,
    latin_name,
    line_value,
    parse_validity,
)
from docpipe.layout import Hit, Label, Span, clean, level, read_fields, rows, union
from docpipe.misread import id_number_shaped
from docpipe.normalize import parse_date

__all__ = [
    "LONG_TERM_WORDS",
    "Hit",
    "KindSpec",
    "Label",
    "Region",
    "Role",
    "Span",
    "chinese_name",
    "clean",
    "date_of",
    "extractor",
    "gender_of",
    "id_number_shaped",
    "is_valid_id",
    "latin_name",
    "level",
    "line_value",
    "parse_date",
    "parse_validity",
    "read_fields",
    "rows",
    "spec_field",
    "union",
]
