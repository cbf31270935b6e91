"""Keyword lists recognised by their form, whatever the punctuation.

A list of the right terms shows that a candidate recognises the vocabulary, not that they understand it; the
recall-based metrics reward it all the same. A list is told from prose by its shape, not by one separator:
the answer falls into many short items (split at commas, semicolons, slashes, pipes, arrows, bullets and line
breaks, after a "Key ideas:" style lead-in) that carry almost no function words, or it is a long run of words
with none at all ("temperature softmax logits top-k top-p nucleus ...").
"""
from __future__ import annotations

import re

from grader.text import STOPWORDS, tokenize

#: Item separators: punctuation, arrows (->, =>, →), bullets and line breaks. A formula's own symbols
#: (= + / ^ ||) are not separators, so "ELBO = E[log p(x|z)] - KL" stays one item.
_SEPARATORS = re.compile(r"\s*(?:[,;\n•·▪●◦*]|->|=>|→|⇒|\s-\s|\s–\s|\s—\s|\|\s|^\s*-\s)\s*", re.MULTILINE)
#: A lead-in such as "Key ideas:", "Keywords -", "Main points:" before the list.
_LEAD_IN = re.compile(r"^\s*(?:key\s+(?:ideas|points|terms|concepts)|keywords|main\s+points|topics|terms|"
                      r"in\s+short|summary|tl;?dr)\s*[:\-–—]\s*", re.IGNORECASE)
#: Items longer than this (in words) are sentences, not list items.
MAX_ITEM_WORDS = 5
#: ... or this many after a lead-in: "Key ideas:" announces notes, and a note may run to a short phrase
#: ("forward = add Gaussian noise over T steps").
MAX_ITEM_WORDS_AFTER_LEAD_IN = 8
#: A list has at least this many items ...
MIN_ITEMS = 5
#: ... and this share of the answer's words sits in short items or runs without function words.
MIN_LIST_SHARE = 0.75
#: Words without function words (a run of terms, a formula) are list material at any length.
MAX_RUN_FUNCTION_SHARE = 0.08
#: Words that say something is being explained, even in telegraphic notes.
_VERBS = re.compile(r"\b(is|are|was|were|means|makes|uses|keeps|learns|adds|lets|gives|becomes|because|so that)\b",
                    re.IGNORECASE)


def _function_share(words, text: str) -> float:
    """Share of function words in ``text`` (tokenized as ``words``). Single letters ("T", "s") are symbols, a word
    inside a hyphenated term ("chain-of-thought", "LLM-as-a-judge") is part of that term, and one in capitals is
    an acronym ("Inception Score (IS)"): none of them is a function word of prose."""
    def function_word(t) -> bool:
        written = text[t.start:t.end]
        in_term = text[t.start - 1 : t.start] == "-" or text[t.end : t.end + 1] == "-"
        # "than" read from "T<1" is a comparison written as a symbol, not prose.
        return t.text in STOPWORDS and len(t.text) > 1 and not in_term and not written.isupper() \
            and written[:1].isalpha()
    return sum(1 for t in words if function_word(t)) / max(1, len(words))


def keyword_list_shape(answer: str) -> str | None:
    """The shape of a bare list of terms ("comma list", "run of terms", ...), or None for an answer in prose."""
    text = _LEAD_IN.sub("", answer.strip())
    words = tokenize(text)
    if len(words) < MIN_ITEMS:
        return None
    items = [item for item in _SEPARATORS.split(text) if item and item.strip()]
    longest = MAX_ITEM_WORDS_AFTER_LEAD_IN if answer.lstrip() != text else MAX_ITEM_WORDS
    listy_words, listy_items = 0, 0
    for item in items:
        item_words = tokenize(item)
        if not item_words:
            continue
        share = _function_share(item_words, item)
        short_item = len(item_words) <= longest and share <= 0.2 \
            and not _VERBS.search(item)
        # A run of terms, or a formula written out ("min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]"): as long as
        # it likes, with (almost) no function word and no verb.
        run = share <= MAX_RUN_FUNCTION_SHARE and not _VERBS.search(item)
        if short_item or run:
            listy_words += len(item_words)
            listy_items += 1 if short_item else max(1, len(item_words) // 2)
    if listy_items < MIN_ITEMS or listy_words / len(words) < MIN_LIST_SHARE:
        return None
    if len(items) <= 2:
        return "run of terms"
    if answer.lstrip() != text:
        return "list after a lead-in"
    separators = "".join(sorted({s.strip()[:2] or "space" for s in _SEPARATORS.findall(text)}))
    return f"list ({separators})"


#: The speaker saying they do not know: "I'm not sure", "no idea", "I can't remember", "I'd have to look it up",
#: "I couldn't name them", "not my area", "I'm blanking on it": first person, the usual English forms.
_ADV = r"(?:(?:really|honestly|genuinely|just|actually|truly|totally|completely)\s+)*"
_ADMISSION = re.compile(
    # "I'm (honestly) not sure / aware / confident", "I (really) don't know", "no idea", "not my area"
    rf"\b(?:i\s*(?:'m|am)\s+{_ADV}not\s+{_ADV}(?:sure|aware|confident|familiar)|not\s+sure\b"
    rf"|i\s+{_ADV}(?:don'?t|do\s+not)\s+{_ADV}know|no\s+idea|no\s+clue|not\s+{_ADV}my\s+area"
    # "(I) (really) couldn't name / tell you / walk you through / break down / explain / remember ..."
    rf"|(?:i\s+)?{_ADV}(?:can'?t|cannot|couldn'?t)\s+{_ADV}(?:remember|recall|explain|tell\s+you|say|list|name"
    r"|compare|walk\s+you\s+through|break\s+(?:it\s+)?down|do\s+the)"
    # "I've never heard / studied", "(I) haven't come across", "I'd have to look it up / guess", "I'm blanking"
    rf"|i'?(?:ve|\s+have)\s+never\s+(?:heard|studied|learned|used)|(?:i\s+)?haven'?t\s+(?:come\s+across|heard|studied"
    r"|worked\s+with)|(?:have|need)\s+to\s+(?:look\s+it\s+up|guess)|i'?m\s+blanking|pass\s+on\s+(?:that|this)"
    r"|rather\s+not\s+guess)\b",
    re.IGNORECASE)
#: An answer this short that admits not knowing is an admission, not a vague answer (a long one that says
#: "I'm not sure" once, about a detail, is an answer).
ADMISSION_MAX_WORDS = 30


def admits_not_knowing(answer: str) -> str | None:
    """The words in which a short answer admits the speaker does not know, if it does: whatever else it says
    is a guess, and it gets no credit for the gist (an expert grades "Like making things up? No idea why" 0)."""
    if len(answer.split()) > ADMISSION_MAX_WORDS:
        return None
    found = _ADMISSION.search(answer)
    return found.group(0) if found else None
