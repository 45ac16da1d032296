"""Answers as plain JSON-ready dicts: the shape of `assistant ask --json` and of the web API."""

from __future__ import annotations

from assistant.render import answer_confidence
from assistant.schema import Answer, Source

__all__ = ["answer_to_dict", "source_to_dict"]


def source_to_dict(source: Source) -> dict:
    hit, p = source.hit, source.hit.passage
    return {
        "rank": source.rank,
        "doc": p.doc,
        "section": p.section_path,
        # PDFs and page images: the page the passage starts on, and all it stands on; None and [] elsewhere
        "page": p.pages[0] if p.pages else None,
        "pages": list(p.pages),
        "text": p.text,
        "start": p.start,
        "end": p.end,
        "score": hit.score,
        "dense": hit.dense,
        "sparse": hit.sparse,
        "matched": list(hit.matched),
        "used": [[s.start, s.end] for s in source.used],
        "id": p.id,
    }


def answer_to_dict(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "found": answer.found,
        "answer": answer.text,
        "sources": [source_to_dict(s) for s in answer.sources],
        "resolved_question": answer.resolved_question or answer.question,
        "missing": list(answer.missing),
        "note": answer.note,
        "answerer": answer.answerer,
        "confidence": answer.confidence,
        "confidence_label": answer_confidence(answer),  # the words the faces show (高/中/低), or None
        "evidence": answer.evidence,
        "shape": answer.shape,
        "items": [{"text": i.text, "source": i.source, "start": i.start, "end": i.end} for i in answer.items],
        "expected_items": answer.expected_items,
    }
