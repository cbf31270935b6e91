"""Transcript parsing: every format, format detection, roles, encodings, and errors naming file and line."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.errors import TranscriptParseError
from grader.transcripts import (
    FORMATS,
    Turn,
    detect_format,
    detect_roles,
    parse_transcript_text,
    read_transcript,
)

from .conftest import REPO

SAMPLES = REPO / "samples"
DATA = Path(__file__).resolve().parent / "data" / "transcripts"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
I, C = "interviewer", "candidate"


def rows(transcript):
    return [(t.speaker, t.role, t.line, t.text) for t in transcript.turns]


# --------------------------------------------------------------------------------------------------
# Samples

SAMPLE_FACTS = [
    # file, format, candidate, number of turns, {turn index: (speaker, role, line, text fragments)}
    ("dana-lee.vtt", "vtt", "Dana Lee", 18, {
        0: ("Marcus Webb", I, 14, ["How was your weekend?"]),
        2: ("Marcus Webb", I, 22, ["Okay, let's get into it. Walk me through the maths"]),
        3: ("Dana Lee", C, 31, ["factored as B times A", "h equals Wx plus BAx. Um, and at inference",
                                 "adds a little latency"]),          # three cues, one answer
        5: ("Dana Lee", C, 48, ["W merged equals W plus BA", "no extra latency"]),
        7: ("Dana Lee", C, 60, ["retrieval-augmented generation", "re-indexing, no retraining"]),
        16: ("Marcus Webb", I, 104, ["LLM-as-a-judge"]),
        17: ("Dana Lee", C, 105, ["Thank you, this was fun."]),   # second voice in the same cue
    }),
    ("sam-okafor.srt", "srt", "SAM", 17, {
        0: ("RACHEL", I, 3, ["Can you hear me okay?"]),
        2: ("RACHEL", I, 11, ["Before the technical part, why are you looking"]),
        5: ("SAM", C, 25, ["confident guess", "sampling randomness", "cite sources"]),  # cues 6-8
        7: ("Sam", C, 41, ["more deterministic", "Top-k keeps the k most likely"]),     # "[Sam]"
        11: ("SAM", C, 61, ["I'm not sure", "step by step? I haven't"]),            # [laughs] gone
        15: ("SAM", C, 77, ["Thanks, Rachel!"]),                                     # "- SAM:"
        16: ("RACHEL", I, 78, ["Thanks, bye!"]),
    }),
    ("priya-nair.md", "markdown", "Priya Nair", 15, {
        0: ("Interviewer", I, 12, ["Did you find the meeting link okay?"]),
        1: ("Priya", C, 14, ["no trouble at all"]),
        2: ("Q1", I, 16, ["Generative vs discriminative"]),
        3: (None, C, 18, ["P(X, Y), so it can sample", "generative models create, discriminative"]),
        4: (None, I, 24, ["Walk me through the stages that took GPT-3 to ChatGPT."]),
        6: ("Follow-up", I, 31, ["Where does the reinforcement learning actually come in"]),
        7: (None, C, 33, ["PPO against the reward model"]),
        11: (None, C, 43, ["I'm not sure."]),
        14: ("Interviewer", I, 51, ["starter project"]),
    }),
    ("alex-chen.txt", "text", "Alex Chen", 16, {
        0: (None, None, 1, ["Mock interview — Alex Chen", "Interviewed by Jamie Ortiz"]),
        1: ("Jamie Ortiz", I, 4, ["Morning Alex, how was your weekend?"]),
        3: ("Jamie Ortiz", I, 6, ["When would you update every weight of a model, and when"]),
        4: ("Alex Chen", C, 8, ["catastrophic forgetting. Parameter-efficient", "swapping small adapters."]),
        8: ("Alex Chen", C, 18, ["Roughly: you keep W frozen", "adds some inference latency"]),
        15: ("Jamie Ortiz", I, 29, ["Within a week. Thanks, Alex!"]),
    }),
    ("jordan-reyes.json", "json", "Jordan Reyes", 17, {
        0: ("Sofia", I, 6, ["Did you find the office okay?"]),
        2: ("Sofia", I, 8, ["what techniques do you actually reach for?"]),
        3: ("Jordan", C, 12, ["few-shot block", "chain-of-thought"]),
        13: ("Jordan", C, 37, ["I'm not sure. I've never trained a GAN."]),
    }),
    ("cohort-pairs.csv", "csv", None, 22, {
        0: (None, I, 2, ["How's your week going so far?"]),
        1: ("Mia Torres", C, 2, ["Busy but good, thanks!"]),
        7: ("Mia Torres", C, 5, ["h = Wx + BAx", "adds some inference latency"]),
        17: ("Ken Ito", C, 10, ["I'm not sure."]),
    }),
    ("answer-lora.txt", "text", None, 1, {
        0: (None, C, 1, ["ΔW = BA", "h = Wx + BAx", "Key point: LoRA adds no inference latency",
                         "W_merged = W + BA"]),
    }),
]


@pytest.mark.parametrize("name, fmt, candidate, count, facts", SAMPLE_FACTS,
                         ids=[case[0] for case in SAMPLE_FACTS])
def test_samples_parse(name, fmt, candidate, count, facts):
    transcript = read_transcript(SAMPLES / name)
    assert transcript.format == fmt
    assert transcript.source == str(SAMPLES / name)
    assert transcript.candidate == candidate
    assert len(transcript.turns) == count
    for index, (speaker, role, line, fragments) in facts.items():
        turn = transcript.turns[index]
        assert (turn.speaker, turn.role, turn.line) == (speaker, role, line), turn
        for fragment in fragments:
            assert fragment in turn.text, (fragment, turn.text)
    for turn in transcript.turns:
        assert turn.text == " ".join(turn.text.split()) and "<" not in turn.text.replace("<<", "")
        assert "-->" not in turn.text


def test_every_sample_is_listed_with_its_questions():
    listed = set(EXPECTED)
    on_disk = {p.name for p in SAMPLES.iterdir() if p.name not in ("README.md", "expected.json")}
    assert listed == on_disk
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in listed)
    assert {case[0] for case in SAMPLE_FACTS} == on_disk


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_json_aligns_with_interviewer_turns(name):
    entries = EXPECTED[name]
    asked = [t for t in read_transcript(SAMPLES / name).turns if t.role == I]
    assert len(asked) == len(entries)
    for turn, entry in zip(asked, entries):
        assert entry["asked_contains"] in turn.text
        assert entry["kind"] in ("question", "follow-up", "small-talk", "off-bank")
        assert (entry["question_id"] is None) == (entry["kind"] in ("small-talk", "off-bank"))
        if entry["question_id"]:
            assert entry["question_id"] in {f"q{n:02d}" for n in range(1, 21)}


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if EXPECTED[n]])
def test_samples_have_the_required_mix(name):
    kinds = [e["kind"] for e in EXPECTED[name]]
    bank = {e["question_id"] for e in EXPECTED[name] if e["question_id"]}
    assert 3 <= len(bank) <= 6
    assert {"question", "follow-up", "small-talk", "off-bank"} <= set(kinds)
    assert kinds[0] == "small-talk" and "small-talk" in kinds[-2:]
    answers = " ".join(t.text for t in read_transcript(SAMPLES / name).turns if t.role == C)
    assert "not sure" in answers


# --------------------------------------------------------------------------------------------------
# Small inline transcripts, one table per format

INLINE = [
    ("text-roles", "text",
     "Interviewer: How was your weekend?\nCandidate: Good, thanks.\nInterviewer: What is RAG?\n"
     "Candidate: Retrieval-augmented generation.\nIt grounds answers in documents.\n",
     None,
     [("Interviewer", I, 1, "How was your weekend?"), ("Candidate", C, 2, "Good, thanks."),
      ("Interviewer", I, 3, "What is RAG?"),
      ("Candidate", C, 4, "Retrieval-augmented generation. It grounds answers in documents.")]),
    ("text-q-a", "text",
     "Q: What is RAG?\nA: Retrieval.\n\nQ3 (follow-up): Why does it help?\nA3: Grounding.\n",
     None,
     [("Q", I, 1, "What is RAG?"), ("A", C, 2, "Retrieval."), ("Q3 (follow-up)", I, 4, "Why does it help?"),
      ("A3", C, 5, "Grounding.")]),
    ("text-names-timestamps", "text",
     "[10:03] Sam: Hi Dana! What is LoRA?\n[10:04] Dana Lee: It learns a low-rank update BA.\n"
     "[10:05] and merges it into W after training, so no latency.\nDana Lee: Also far fewer parameters.\n"
     "SAM: Thanks.\n",
     "Dana Lee",
     [("Sam", I, 1, "Hi Dana! What is LoRA?"),
      ("Dana Lee", C, 2, "It learns a low-rank update BA. and merges it into W after training, so no "
                         "latency. Also far fewer parameters."),
      ("SAM", I, 5, "Thanks.")]),
    ("text-stray-label-stays-text", "text",
     "Interviewer: What is top-p?\nDana: The smallest set of tokens whose probability reaches p.\n"
     "Intuition: it adapts to how peaked the distribution is.\nInterviewer: Thanks.\n"
     "Dana: Sure, any time, happy to help.\n",
     "Dana",
     [("Interviewer", I, 1, "What is top-p?"),
      ("Dana", C, 2, "The smallest set of tokens whose probability reaches p. Intuition: it adapts to how "
                     "peaked the distribution is."),
      ("Interviewer", I, 4, "Thanks."), ("Dana", C, 5, "Sure, any time, happy to help.")]),
    ("text-heuristic", "text",
     "Speaker 1: Hi! What is RAG, in your words?\n"
     "Speaker 2: Retrieval-augmented generation: retrieve documents, put them in the prompt, generate.\n"
     "Speaker 1: Why would you use it?\n"
     "Speaker 2: It reduces hallucination and you can update knowledge without retraining the model.\n",
     "Speaker 2",
     [("Speaker 1", I, 1, "Hi! What is RAG, in your words?"),
      ("Speaker 2", C, 2, "Retrieval-augmented generation: retrieve documents, put them in the prompt, "
                          "generate."),
      ("Speaker 1", I, 3, "Why would you use it?"),
      ("Speaker 2", C, 4, "It reduces hallucination and you can update knowledge without retraining the "
                          "model.")]),
    ("text-practice-answer", "text",
     "LoRA freezes W and learns BA.\nAfter training BA is merged into W, so there is no latency.\n",
     None,
     [(None, C, 1, "LoRA freezes W and learns BA. After training BA is merged into W, so there is no "
                   "latency.")]),
    ("markdown-headings", "markdown",
     "---\ncandidate: Dana Lee\n---\n# Mock interview\n\n## Q3: What is RAG?\n\nRetrieval.\n\n"
     "More about `retrieval`.\n\n### Why do LLMs hallucinate?\nThey guess.\n\n"
     "**What is LoRA?**\nA *low-rank* update:\n```\nh = Wx + BAx\n```\n",
     "Dana Lee",
     [("Q3", I, 6, "What is RAG?"), (None, C, 8, "Retrieval. More about retrieval."),
      (None, I, 12, "Why do LLMs hallucinate?"), (None, C, 13, "They guess."),
      (None, I, 15, "What is LoRA?"), (None, C, 16, "A low-rank update: h = Wx + BAx")]),
    ("markdown-speakers", "markdown",
     "**Interviewer:** What is RAG?\n\nIt retrieves documents first.\n\n**Interviewer**: And then?\n"
     "**Dana:** It generates from them.\n\nThat grounds the answer.\n\n> Interviewer: Thanks!\n",
     "Dana",
     [("Interviewer", I, 1, "What is RAG?"), (None, C, 3, "It retrieves documents first."),
      ("Interviewer", I, 5, "And then?"), ("Dana", C, 6, "It generates from them. That grounds the answer."),
      ("Interviewer", I, 10, "Thanks!")]),
    ("markdown-question-label-then-text", "markdown",
     "## Question 3\n\nWhat is RAG?\n\nRetrieval, then generation.\n",
     None,
     [("Question 3", I, 1, "What is RAG?"), (None, C, 5, "Retrieval, then generation.")]),
    ("json-turns", "json",
     '[\n  {"speaker": "Interviewer", "text": "What is RAG?"},\n'
     '  {\n    "name": "Dana",\n    "utterance": "Retrieval."\n  },\n'
     '  {"role": "Dana", "content": "Then generation."}\n]\n',
     "Dana",
     [("Interviewer", I, 2, "What is RAG?"), ("Dana", C, 3, "Retrieval. Then generation.")]),
    ("json-roles", "json",
     '[{"role": "interviewer", "content": "What is RAG?"}, {"role": "candidate", "content": "Retrieval."}]',
     None,
     [("interviewer", I, 1, "What is RAG?"), ("candidate", C, 1, "Retrieval.")]),
    ("json-pairs", "json",
     '{\n  "candidate": "Dana Lee",\n  "qa": [\n    {\n      "question": "What is RAG?",\n'
     '      "answer": "Retrieval."\n    },\n    {"prompt": "What is LoRA?", "response": ""}\n  ]\n}\n',
     "Dana Lee",
     [(None, I, 4, "What is RAG?"), (None, C, 6, "Retrieval."), (None, I, 8, "What is LoRA?"),
      (None, C, 8, "")]),
    ("jsonl-mixed", "jsonl",
     '{"candidate": "Dana Lee"}\n{"question": "What is RAG?", "answer": "Retrieval."}\n\n'
     '{"speaker": "Interviewer", "text": "Thanks!"}\n',
     "Dana Lee",
     [(None, I, 2, "What is RAG?"), (None, C, 2, "Retrieval."), ("Interviewer", I, 4, "Thanks!")]),
    ("csv-pairs", "csv",
     'Prompt;RESPONSE;score\n"What is\nRAG?";Retrieval;3\n\nWhat is LoRA?;"Low\nrank";4\n',
     None,
     [(None, I, 2, "What is RAG?"), (None, C, 2, "Retrieval"), (None, I, 5, "What is LoRA?"),
      (None, C, 5, "Low rank")]),
    ("csv-speakers", "csv",
     "speaker,text,start\nInterviewer,What is RAG?,0\nDana,Retrieval.,3\nDana,\"Then, generation.\",5\n",
     "Dana",
     [("Interviewer", I, 2, "What is RAG?"), ("Dana", C, 3, "Retrieval. Then, generation.")]),
    ("vtt-labels-and-voices", "vtt",
     "WEBVTT - mock\n\nNOTE coach notes\nspan two lines\n\ncue-1\n00:01.000 --> 00:04.000\n"
     "Interviewer: What is RAG? Q&amp;A time.\n\n00:00:04.000 --> 00:00:08.000\n"
     "<v.loud Dana>Retrieval, <b>then</b></v> <v Interviewer>ok?</v>\n\n"
     "00:00:08.000 --> 00:00:09.000\n<00:00:08.500><c>and more</c>\n",
     "Dana",
     [("Interviewer", I, 8, "What is RAG? Q&A time."), ("Dana", C, 11, "Retrieval, then"),
      ("Interviewer", I, 11, "ok? and more")]),
    ("srt-prefixes", "srt",
     "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<font color=\"#fff\">[Interviewer] What is RAG?</font>\n\n"
     "2\n00:00:02,000 --> 00:00:03,000\n>> Dana: Retrieval.\n[MUSIC]\n\nstill Dana after a blank line\n\n"
     "00:00:03,000 --> 00:00:04,000\n- Interviewer: Thanks.\n- Dana: Bye!\n",
     "Dana",
     [("Interviewer", I, 3, "What is RAG?"), ("Dana", C, 7, "Retrieval. still Dana after a blank line"),
      ("Interviewer", I, 13, "Thanks."), ("Dana", C, 14, "Bye!")]),
]


@pytest.mark.parametrize("fmt, text, candidate, expected", [case[1:] for case in INLINE],
                         ids=[case[0] for case in INLINE])
def test_inline_formats(fmt, text, candidate, expected):
    transcript = parse_transcript_text(text, fmt, source="inline")
    assert transcript.format == fmt
    assert transcript.candidate == candidate
    assert rows(transcript) == expected


def test_every_format_has_inline_cases():
    assert {case[1] for case in INLINE} == set(FORMATS)


def test_crlf_and_bom_in_strings():
    text = "\ufeffInterviewer: What is RAG?\r\nDana: Retrieval.\r\n"
    assert rows(parse_transcript_text(text, "text")) == [("Interviewer", I, 1, "What is RAG?"),
                                                         ("Dana", C, 2, "Retrieval.")]
    assert rows(read_transcript(DATA / "windows.srt"))[1] == ("Dana", C, 7, "Retrieval-augmented generation.")


def test_cohort_rows_without_a_candidate_keep_everyone():
    transcript = read_transcript(SAMPLES / "cohort-pairs.csv")
    assert transcript.speakers == ("Mia Torres", "Ken Ito")


def test_turns_and_transcripts_are_frozen():
    transcript = read_transcript(SAMPLES / "alex-chen.txt")
    with pytest.raises(dataclasses.FrozenInstanceError):
        transcript.turns[0].text = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        transcript.candidate = "x"  # type: ignore[misc]
    assert isinstance(transcript.turns, tuple)


# --------------------------------------------------------------------------------------------------
# Format detection

@pytest.mark.parametrize("name, fmt", [
    ("a.txt", "text"), ("a.TXT", "text"), ("a.md", "markdown"), ("a.markdown", "markdown"),
    ("a.json", "json"), ("a.jsonl", "jsonl"), ("a.csv", "csv"), ("a.vtt", "vtt"), ("a.srt", "srt"),
])
def test_detect_format_by_extension(name, fmt):
    assert detect_format(Path(name), "whatever is inside") == fmt


@pytest.mark.parametrize("text, fmt", [
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHi\n", "vtt"),
    ("\n1\n00:00:01,000 --> 00:00:02,000\nHi\n", "srt"),
    ('[{"speaker": "Interviewer", "text": "Hi"}]', "json"),
    ('{\n  "turns": [{"speaker": "A", "text": "Hi"}]\n}\n', "json"),
    ('{"speaker": "Interviewer", "text": "Hi"}\n{"speaker": "Dana", "text": "Hello"}\n', "jsonl"),
    ("---\ncandidate: Dana\n---\nHi\n", "markdown"),
    ("Intro line\n\n## What is RAG?\nRetrieval.\n", "markdown"),
    ("**Interviewer:** Hi\n", "markdown"),
    ("Question,Answer\nWhat is RAG?,Retrieval\n", "csv"),
    ("speaker;text\nInterviewer;Hi\n", "csv"),
    ("Interviewer: Hi\nDana: Hello\n", "text"),
    ("[10:03] Sam: Hi\n", "text"),
])
def test_detect_format_by_content(text, fmt, tmp_path):
    assert detect_format(Path("transcript"), text) == fmt
    assert detect_format(Path("export.log"), text) == fmt
    path = tmp_path / "transcript"
    path.write_text(text, encoding="utf-8")
    assert read_transcript(path).format == fmt


def test_detect_format_gives_up_clearly():
    with pytest.raises(TranscriptParseError) as info:
        detect_format(Path("notes.log"), "just some prose without any structure at all\n")
    assert info.value.path == "notes.log" and info.value.line == 1
    assert "format" in str(info.value)


def test_explicit_format_overrides_the_extension(tmp_path):
    path = tmp_path / "interview.txt"
    path.write_text("### What is RAG?\nRetrieval.\n", encoding="utf-8")
    assert read_transcript(path, input_format="markdown").turns[0] == Turn(None, "What is RAG?", 1, I)
    assert read_transcript(path, input_format="md").format == "markdown"
    with pytest.raises(TranscriptParseError, match="unknown transcript format 'docx'"):
        read_transcript(path, input_format="docx")


# --------------------------------------------------------------------------------------------------
# Naming the candidate

@pytest.mark.parametrize("name, given, expected, candidate_turns", [
    ("dana-lee.vtt", "dana", "Dana Lee", 9),
    ("dana-lee.vtt", "MARCUS WEBB", "Marcus Webb", 9),
    ("alex-chen.txt", "jamie ortiz", "Jamie Ortiz", 8),
    ("sam-okafor.srt", "sam", "SAM", 8),
    ("jordan-reyes.json", "Jordan Reyes", "Jordan", 8),
    ("priya-nair.md", "priya", "Priya", 7),
    ("cohort-pairs.csv", "ken ito", "Ken Ito", 6),
    ("cohort-pairs.csv", "Mia", "Mia Torres", 5),
])
def test_candidate_option(name, given, expected, candidate_turns):
    transcript = read_transcript(SAMPLES / name, candidate=given)
    assert transcript.candidate == expected
    assert sum(t.role == C for t in transcript.turns) == candidate_turns
    named = [t for t in transcript.turns if t.speaker and t.speaker.casefold() == expected.casefold()]
    assert named and all(t.role == C for t in named)


def test_candidate_option_flips_roles():
    transcript = read_transcript(SAMPLES / "alex-chen.txt", candidate="Jamie Ortiz")
    assert {t.role for t in transcript.turns if t.speaker == "Alex Chen"} == {I}


def test_candidate_option_names_a_role_labelled_candidate():
    transcript = parse_transcript_text("Interviewer: Hi?\nCandidate: Hello.\n", "text", candidate="Dana Lee")
    assert transcript.candidate == "Dana Lee"
    assert [t.role for t in transcript.turns] == [I, C]


def test_cohort_filter_keeps_only_that_candidates_pairs():
    transcript = read_transcript(SAMPLES / "cohort-pairs.csv", candidate="Ken Ito")
    assert transcript.turns[0] == Turn(None, "Thanks for coming in, Ken. Did you find the office okay?", 7, I)
    assert {t.speaker for t in transcript.turns if t.role == C} == {"Ken Ito"}


@pytest.mark.parametrize("name, given, listed", [
    ("dana-lee.vtt", "Taylor", "Marcus Webb, Dana Lee"),
    ("alex-chen.txt", "Alex Chan", "Jamie Ortiz, Alex Chen"),
    ("cohort-pairs.csv", "Zoe", "Mia Torres, Ken Ito"),
])
def test_unknown_candidate_lists_the_speakers(name, given, listed):
    with pytest.raises(TranscriptParseError) as info:
        read_transcript(SAMPLES / name, candidate=given)
    message = str(info.value)
    assert name in message and f"'{given}'" in message and listed in message
    assert "\n" not in message


def test_declared_candidate_wins_and_guides_roles():
    text = '{"candidate": "Sam Okafor", "turns": [{"speaker": "Sam", "text": "What is RAG?"},' \
           '{"speaker": "Rachel", "text": "Could you repeat the question?"}]}'
    transcript = parse_transcript_text(text, "json")
    assert transcript.candidate == "Sam Okafor"
    assert [t.role for t in transcript.turns] == [C, I]


def test_detect_roles_on_plain_turns():
    turns = [Turn("Ana", "Hi! Ready? What is RAG?", 1, None),
             Turn("Ben", "Yes. RAG retrieves documents and adds them to the prompt before generating.", 2, None),
             Turn("Ana", "Why use it?", 3, None),
             Turn("Ben", "Fresh knowledge without retraining, and fewer hallucinations.", 4, None)]
    roled, name = detect_roles(turns)
    assert name == "Ben" and [t.role for t in roled] == [I, C, I, C]
    roled, name = detect_roles(turns, candidate="ana")
    assert name == "Ana" and [t.role for t in roled] == [C, I, C, I]
    with pytest.raises(TranscriptParseError, match=r"speakers found: Ana, Ben"):
        detect_roles(turns, candidate="Cy", source="x.txt")


# --------------------------------------------------------------------------------------------------
# Malformed files: the error names the file and the line

MALFORMED = [
    ("bad-timing.vtt", 8, "malformed cue timing line '00:00:05.000 -> 00:00:09.000'"),
    ("no-header.vtt", 1, "must start with a 'WEBVTT' line"),
    ("backwards-cue.vtt", 6, "ends (00:00:05.000) before it starts"),
    ("only-header.vtt", 1, "no turns found"),
    ("bad-index.srt", 5, "expected a cue number but found '2a'"),
    ("bad-timing.srt", 10, "malformed cue timing line '00:00:10 --> 00:00:12'"),
    ("bad.json", 4, "invalid JSON: Expecting ',' delimiter"),
    ("bad-item.json", 5, "item 2 has neither speaker/text nor question/answer fields (fields found: who, said)"),
    ("bad.jsonl", 3, "not valid JSON"),
    ("missing-columns.csv", 1, "but it has: name, comment"),
    ("extra-fields.csv", 3, "this row has 3 fields but the header has 2"),
    ("unclosed-quote.csv", 3, "never closed"),
    ("unclosed-front-matter.md", 1, "front matter"),
    ("latin1.txt", 3, "byte 0xE8 at column 16 is not valid UTF-8"),
    ("empty.txt", 1, "no turns found"),
    ("blank.md", 1, "no turns found"),
    ("binary.txt", 3, "binary"),
    ("utf16-nobom.txt", 1, "binary"),
]


@pytest.mark.parametrize("name, line, fragment", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_files_name_file_and_line(name, line, fragment):
    path = DATA / name
    with pytest.raises(TranscriptParseError) as info:
        read_transcript(path)
    error = info.value
    assert error.path == str(path) and error.line == line
    message = str(error)
    assert message.startswith(f"{path}:{line}: ")
    assert fragment in message
    assert "\n" not in message


def test_every_format_has_a_malformed_fixture():
    formats = {detect_format(DATA / name, "") for name, _, _ in MALFORMED}
    assert formats == set(FORMATS)


@pytest.mark.parametrize("text, fmt, line, fragment", [
    ('{"turns": {"speaker": "x"}}', "json", 1, "'turns' must be a list"),
    ('{"title": "Mock"}', "json", 1, "no 'turns', 'pairs' or 'qa' list (keys found: title)"),
    ("42", "json", 1, "must be a list or an object, not a number"),
    ('[\n  {"speaker": "A", "text": "Hi"},\n  "Hello"\n]', "json", 3, "item 2 is a string"),
    ('[\n  {"speaker": "A",\n   "text": 7.5e0},\n  {"speaker": "B", "text": ["x"]}\n]', "json", 4,
     "the 'text' field of item 2 must be a string, not a list"),
    ('{"candidate": 3, "turns": []}', "json", 1, "'candidate' field must be a string"),
    ("[]", "json", 1, "no turns found"),
    ('{"speaker": "A", "text": "Hi"}\n[1, 2]\n', "jsonl", 2, "must be a JSON object, but this one is a list"),
    ('{"speaker": "A", "text": "Hi"}\n{"note": "x"}\n', "jsonl", 2, "fields found: note"),
    ("\n\nquestion\tanswer\nWhat?\tThat.\textra\n", "csv", 4, "quote any field that contains a tab"),
    ("\n\ncomment,score\n", "csv", 3, "but it has: comment, score"),
    ("WEBVTT\n\nintro\nnot a timing line\n", "vtt", 4, "expected a cue timing line"),
    ("hello\n\n1\n00:00:01,000 --> 00:00:02,000\nHi\n", "srt", 1, "expected a numbered cue"),
    ("1\n\n", "srt", 1, "cue 1 has no timing line"),
])
def test_malformed_inline(text, fmt, line, fragment):
    with pytest.raises(TranscriptParseError) as info:
        parse_transcript_text(text, fmt, source="inline." + fmt)
    assert info.value.line == line
    assert str(info.value).startswith(f"inline.{fmt}:{line}: ")
    assert fragment in str(info.value)


# --------------------------------------------------------------------------------------------------
# Encodings and unreadable paths

@pytest.mark.parametrize("name", ["bom-utf8.txt", "utf16-le.txt", "utf16-be.vtt"])
def test_bom_and_utf16_files(name):
    transcript = read_transcript(DATA / name)
    assert [t.speaker for t in transcript.turns] == ["Interviewer", "Dana"]
    assert transcript.turns[0].text == "What is RAG?"
    assert "—" in transcript.turns[1].text
    assert transcript.candidate == "Dana"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(TranscriptParseError, match="not found") as info:
        read_transcript(tmp_path / "nope.vtt")
    assert str(tmp_path / "nope.vtt") in str(info.value)
    with pytest.raises(TranscriptParseError, match="is a directory") as info:
        read_transcript(tmp_path)
    assert str(tmp_path) in str(info.value)


# --------------------------------------------------------------------------------------------------
# Robustness: whatever the text, the result is a transcript or a one-line TranscriptParseError

_PIECES = st.sampled_from([
    "Interviewer:", "Dana Lee:", "Q:", "A:", "[10:03] Sam:", " ", "\n", "\n\n", "\r\n", "-->",
    "00:00:01.000", "00:00:01,000", "1", "<v Dana>", "</v>", "<i>", "[", "]", "{", "}", '"', ",", ";",
    "## ", "**", ":", "---", "WEBVTT", "NOTE", "question", "answer", "speaker", "text", "What is RAG?",
    "```", "\t", "é", "\ufeff", "turns", "candidate", "- ", "null", "3",
])


@settings(max_examples=150, deadline=None)
@given(text=st.lists(_PIECES, max_size=40).map("".join), fmt=st.sampled_from(FORMATS),
       candidate=st.sampled_from([None, "Dana", "Zed"]))
def test_any_text_parses_or_fails_cleanly(text, fmt, candidate):
    try:
        transcript = parse_transcript_text(text, fmt, source="fuzz", candidate=candidate)
    except TranscriptParseError as error:
        assert "\n" not in str(error) and str(error).startswith("fuzz")
    else:
        assert transcript.turns and all(t.line >= 1 for t in transcript.turns)
        assert all(t.role in (I, C, None) for t in transcript.turns)
