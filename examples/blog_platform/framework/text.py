"""Tokenising text for the search index (standard library only).

:func:`index_document` is the content indexer's CPU work: it runs in a worker
process through ``QueueService.offload`` so a long post never stalls the
gevent hub. :func:`tokenize` is also used on the hub for the (short) search
query, so documents and queries are normalised identically: NFKD-folded,
accents dropped, lower-cased, split on non-word characters, stop words and
one-letter words removed.

Example::

    tokenize("Getting started with the Café")      # ['getting', 'started', 'cafe']
    index_document("SPOC", "SPOC apps, apps!")      # {'spoc': 4, 'apps': 2}
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Dict, List

#: weight of a word in the title relative to one in the body
TITLE_WEIGHT = 3
#: words longer than this are cut (keeps the index small)
MAX_TERM_LENGTH = 40

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with you your
yours yourself yourselves
""".split())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> List[str]:
    """The searchable words of ``text``, in order (repeats kept)."""
    words = []
    for match in _WORD.finditer(_fold(text)):
        word = match.group()[:MAX_TERM_LENGTH]
        if len(word) > 1 and word not in STOP_WORDS:
            words.append(word)
    return words


def index_document(title: str, content: str) -> Dict[str, int]:
    """``{term: weight}`` for a post: body occurrences plus title occurrences
    times :data:`TITLE_WEIGHT`."""
    weights: Counter = Counter(tokenize(content))
    for word in tokenize(title):
        weights[word] += TITLE_WEIGHT
    return dict(weights)
