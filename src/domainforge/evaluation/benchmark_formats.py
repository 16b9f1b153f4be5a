"""Adapters: each published benchmark format → records in the common shape (`mcq_records`).

| loader | format |
|---|---|
| `load_mmlu_csv` | MMLU: CSV without header, `question, A, B, C, D, answer letter` |
| `load_cmmlu_csv` | CMMLU: CSV with header `,Question,A,B,C,D,Answer` (first column an index) |
| `load_medqa_jsonl` | MedQA: JSONL `question, options{A..}, answer_idx` (and `answer`, the text) |
| `load_medmcqa_jsonl` | MedMCQA: JSONL `question, opa..opd, cop` (1-based correct option) |
| `load_pubmedqa_json` | PubMedQA: JSON keyed by PubMed id `QUESTION, CONTEXTS, final_decision`; options yes/no/maybe |

Every record gets `id` = `<folder>/<file>#L<line>` (the line its record starts on) and, where the
source has one, `subject`. A record that cannot be converted raises `McqFormatError` naming the
file and line; nothing is skipped. Option texts are kept as published (outer whitespace
stripped), duplicates included: 36 questions of the shared sets repeat an option text.

`load_benchmark(root, name, split=..., subjects=...)` reads one of the shared sets by name.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from domainforge.evaluation.mcq_records import LETTERS, McqFormatError, make_record, read_utf8

PUBMEDQA_OPTIONS = ("yes", "no", "maybe")

MMLU_MEDICAL = (
    "anatomy",
    "clinical_knowledge",
    "college_medicine",
    "medical_genetics",
    "professional_medicine",
    "college_biology",
)
CMMLU_MEDICAL = (
    "anatomy",
    "clinical_knowledge",
    "college_medicine",
    "professional_medicine",
    "traditional_chinese_medicine",
    "college_medical_statistics",
    "genetics",
    "nutrition",
    "virology",
)


def _file_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _csv_rows(path: Path):
    """(first line of the record, fields) for each CSV record."""
    reader = csv.reader(io.StringIO(read_utf8(path), newline=""))
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise McqFormatError(f"{path}:{start}", f"bad CSV ({error})") from None
        if row:
            yield start, row


def _jsonl_objects(path: Path):
    """(line, object) for each non-empty JSONL line."""
    for number, line in enumerate(read_utf8(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise McqFormatError(f"{path}:{number}", f"bad JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise McqFormatError(f"{path}:{number}", "expected a JSON object")
        yield number, record


def _subject_of(path: Path, suffix: str = "") -> str:
    stem = path.stem
    return stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem


def load_mmlu_csv(path: str | Path, *, n_options: int = 4) -> list[dict]:
    """MMLU `<subject>_test.csv`: no header; question, `n_options` option texts, answer letter."""
    path = Path(path)
    subject = _subject_of(path, "_test")
    records = []
    for line, row in _csv_rows(path):
        where = f"{path}:{line}"
        if len(row) != n_options + 2:
            raise McqFormatError(where, f"{len(row)} fields; expected {n_options + 2} (question, options, answer)")
        records.append(
            make_record(
                row[0], row[1:-1], row[-1], where, id=f"{_file_id(path)}#L{line}", subject=subject
            )
        )
    return _nonempty(records, path)


def load_cmmlu_csv(path: str | Path) -> list[dict]:
    """CMMLU `<split>/<subject>.csv`: header `,Question,A,B,C,D,Answer`; options read from the header."""
    path = Path(path)
    rows = _csv_rows(path)
    try:
        _, header = next(rows)
    except StopIteration:
        raise McqFormatError(f"{path}:1", "empty file (no header)") from None
    header = [column.strip() for column in header]
    letters = header[2:-1]
    if (
        len(header) < 5
        or header[1] != "Question"
        or header[-1] != "Answer"
        or letters != list(LETTERS[: len(letters)])
    ):
        raise McqFormatError(f"{path}:1", f"header {header} is not ',Question,A,B,...,Answer'")
    subject = _subject_of(path)
    records = []
    for line, row in rows:
        where = f"{path}:{line}"
        if len(row) != len(header):
            raise McqFormatError(where, f"{len(row)} fields; the header has {len(header)}")
        records.append(
            make_record(
                row[1], row[2:-1], row[-1], where, id=f"{_file_id(path)}#L{line}", subject=subject
            )
        )
    return _nonempty(records, path)


def load_medqa_jsonl(path: str | Path) -> list[dict]:
    """MedQA JSONL: `options` {letter: text}, `answer_idx` the letter; `answer` (text) must agree."""
    path = Path(path)
    records = []
    for line, obj in _jsonl_objects(path):
        where = f"{path}:{line}"
        options = obj.get("options")
        if not isinstance(options, dict) or not options:
            raise McqFormatError(where, "missing or empty 'options' object")
        letters = sorted(options)
        if letters != list(LETTERS[: len(letters)]):
            raise McqFormatError(where, f"option letters {list(options)} are not consecutive from A")
        answer = obj.get("answer_idx")
        if "answer" in obj and isinstance(answer, str) and options.get(answer) != obj["answer"]:
            raise McqFormatError(
                where, f"answer text {obj['answer']!r} is not option {answer} ({options.get(answer)!r})"
            )
        records.append(
            make_record(
                obj.get("question"),
                [options[letter] for letter in letters],
                answer,
                where,
                id=f"{_file_id(path)}#L{line}",
                subject=str(obj.get("meta_info") or ""),
            )
        )
    return _nonempty(records, path)


def load_medmcqa_jsonl(path: str | Path) -> list[dict]:
    """MedMCQA JSONL: options `opa..opd`, `cop` the 1-based index of the correct one."""
    path = Path(path)
    keys = ("opa", "opb", "opc", "opd")
    records = []
    for line, obj in _jsonl_objects(path):
        where = f"{path}:{line}"
        cop = obj.get("cop")
        if isinstance(cop, bool) or not isinstance(cop, int) or not 1 <= cop <= len(keys):
            raise McqFormatError(where, f"cop {cop!r} is not an option number 1..{len(keys)}")
        records.append(
            make_record(
                obj.get("question"),
                [obj.get(key) for key in keys],
                LETTERS[cop - 1],
                where,
                id=f"{_file_id(path)}#L{line}",
                subject=str(obj.get("subject_name") or ""),
            )
        )
    return _nonempty(records, path)


def _key_lines(text: str) -> dict[str, int]:
    """Line where each key first appears in a pretty-printed JSON text (for ids in messages)."""
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r'^\s*"([^"]+)"\s*:', line)
        if match and match.group(1) not in lines:
            lines[match.group(1)] = number
    return lines


def load_pubmedqa_json(
    path: str | Path, *, ids_path: str | Path | None = None, with_context: bool = True
) -> list[dict]:
    """PubMedQA `ori_pqal.json`: options A yes, B no, C maybe; answer from `final_decision`.

    ids_path: a JSON {pmid: decision} (`test_ground_truth.json`) that selects the questions, in
    its order; its decisions must agree with the main file's. with_context: the question text is
    `Abstract: <contexts, one a line>\\nQuestion: <QUESTION>` as in lm-eval's `pubmedqa` task;
    without it, the bare question.
    """
    path = Path(path)
    text = read_utf8(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise McqFormatError(f"{path}:{error.lineno}", f"bad JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise McqFormatError(str(path), "expected a JSON object keyed by PubMed id")
    lines = _key_lines(text)
    ids = list(data)
    expected = None
    if ids_path is not None:
        ids_path = Path(ids_path)
        ids_text = read_utf8(ids_path)
        try:
            expected = json.loads(ids_text)
        except json.JSONDecodeError as error:
            raise McqFormatError(f"{ids_path}:{error.lineno}", f"bad JSON ({error.msg})") from None
        if not isinstance(expected, dict):
            raise McqFormatError(str(ids_path), "expected a JSON object {pmid: decision}")
        id_lines = _key_lines(ids_text)
        missing = [pmid for pmid in expected if pmid not in data]
        if missing:
            raise McqFormatError(f"{ids_path}:{id_lines.get(missing[0], '?')}", f"PubMed id {missing[0]} not in {path}")
        ids = list(expected)
    records = []
    for pmid in ids:
        where = f"{path}:{lines.get(pmid, '?')} (PubMed id {pmid})"
        entry = data[pmid]
        if not isinstance(entry, dict):
            raise McqFormatError(where, "entry is not an object")
        decision = entry.get("final_decision")
        if decision not in PUBMEDQA_OPTIONS:
            raise McqFormatError(where, f"final_decision {decision!r} is not yes/no/maybe")
        if expected is not None and expected[pmid] != decision:
            raise McqFormatError(where, f"final_decision {decision!r} disagrees with {ids_path} ({expected[pmid]!r})")
        question = entry.get("QUESTION")
        if with_context and isinstance(question, str):
            contexts = entry.get("CONTEXTS") or []
            if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
                raise McqFormatError(where, "CONTEXTS is not a list of strings")
            question = f"Abstract: {chr(10).join(contexts)}\nQuestion: {question.strip()}"
        records.append(
            make_record(
                question,
                list(PUBMEDQA_OPTIONS),
                LETTERS[PUBMEDQA_OPTIONS.index(decision)],
                where,
                id=f"{_file_id(path)}#{pmid}",
            )
        )
    return _nonempty(records, path)


def _nonempty(records: list[dict], path: Path) -> list[dict]:
    if not records:
        raise McqFormatError(str(path), "no records")
    return records


def _subject_files(pattern: str, root: Path, split: str, subjects) -> list[Path]:
    if subjects is None:
        files = sorted(root.glob(pattern.format(split=split, subject="*")))
    else:
        files = [root / pattern.format(split=split, subject=subject) for subject in subjects]
    missing = [str(f) for f in files if not f.is_file()]
    if missing or not files:
        raise FileNotFoundError(f"benchmark file(s) not found: {missing or pattern.format(split=split, subject='*')}")
    return files


# name -> (file pattern under the benchmarks root, splits; the first is the default)
BENCHMARKS = {
    "mmlu": ("mmlu/{split}/{subject}_test.csv", ("test",)),
    "cmmlu": ("cmmlu/{split}/{subject}.csv", ("test", "dev")),
    "medqa_mainland": ("medqa/mainland_4_options/{split}.jsonl", ("test", "dev")),
    "medqa_us": ("medqa/us_4_options/{split}.jsonl", ("test", "dev")),
    "medmcqa": ("medmcqa/{split}.jsonl", ("dev",)),
    "pubmedqa": ("pubmedqa/ori_pqal.json", ("test", "all")),
}
_LOADERS = {
    "mmlu": load_mmlu_csv,
    "cmmlu": load_cmmlu_csv,
    "medqa_mainland": load_medqa_jsonl,
    "medqa_us": load_medqa_jsonl,
    "medmcqa": load_medmcqa_jsonl,
}


def load_benchmark(
    root: str | Path, name: str, *, split: str | None = None, subjects: list[str] | None = None
) -> list[dict]:
    """Records of one shared benchmark under `root` (e.g. `../shared/data/benchmarks`).

    split: default the first one listed in `BENCHMARKS` (test, or dev for MedMCQA); PubMedQA's
    `test` is the 500 ids of `test_ground_truth.json`, `all` the 1,000 labelled questions.
    subjects: MMLU/CMMLU subject names (default all, in file-name order).
    """
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; known: {sorted(BENCHMARKS)}")
    pattern, splits = BENCHMARKS[name]
    split = split or splits[0]
    if split not in splits:
        raise ValueError(f"{name} has splits {splits}, not {split!r}")
    root = Path(root)
    if name == "pubmedqa":
        ids = root / "pubmedqa/test_ground_truth.json" if split == "test" else None
        return load_pubmedqa_json(root / pattern, ids_path=ids)
    if subjects is not None and "{subject}" not in pattern:
        raise ValueError(f"{name} has no subjects")
    records = []
    for path in _subject_files(pattern, root, split, subjects):
        records.extend(_LOADERS[name](path))
    return records
