"""docpipe: pre-review of China E-Port card applications.

Reads every attachment of a submission, cross-checks it against the filed fields and
the portal's rules, and writes a report a reviewer can act on.
"""
