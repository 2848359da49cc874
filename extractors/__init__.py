"""Extractors: one module per document kind, from OCR lines to typed fields with evidence."""
