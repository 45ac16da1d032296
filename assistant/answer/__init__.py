"""Answering: from retrieved passages to an answer the reader can check.

`extractive` quotes the sentence that answers (the default); `llm` has a language
model write the answer from the same passages and checks it against them.
"""
