"""Answers laid out for people: `terminal` for the command line (text with ANSI styles)."""
