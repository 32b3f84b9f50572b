"""Domain services shared by the web pages, the JSON API and the CLI.

Every service takes a SQLAlchemy ``Session`` plus keyword-only arguments, may ``flush()``
and never commits: the request or the command owns the transaction.
"""
