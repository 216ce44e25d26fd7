#!/usr/bin/env python3
"""Seeds the fuzz corpora from the shipped material: processes, forms, calendars and
tests/corpus for `definition`; the conditions, durations and warnings written in them (with data
from the processes' scenarios) for `condition` and `duration`; each form with data of every
field's type, valid and not, for `form`. Each seed is written to fuzz/corpus/<target>/ under the
SHA-1 of its bytes, as libFuzzer names its own. Needs PyYAML (`pip install pyyaml`).

Usage: python3 fuzz/seed.py   (then `cargo fuzz cmin <target>` keeps what adds coverage)
"""

import glob
import hashlib
import json
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load(text):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def files(*patterns):
    out = []
    for p in patterns:
        out.extend(sorted(glob.glob(os.path.join(ROOT, p), recursive=True)))
    return out


def walk(node, key=None):
    """Every (key, scalar) pair in a parsed YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)
    else:
        yield key, node


def is_scenario(path):
    return path.endswith(".test.yaml")


form_paths = files("forms/**/*.yaml", "tests/corpus/forms/*.yaml", "tests/corpus/clean/*-form.yaml")
forms = {}
for p in form_paths:
    doc = load(read(p))
    if isinstance(doc, dict) and "form" in doc:
        forms[str(doc["form"])] = (p, doc)

definitions = [p for p in files("processes/**/*.yaml", "tests/corpus/**/*.yaml", "calendars/*.yaml", "forms/**/*.yaml")
               if not is_scenario(p)]

# ---- definition: each file alone, and each process with the forms it names ---------------------
for p in definitions:
    text = read(p)
    write("definition", text)
    doc = load(text)
    if isinstance(doc, dict) and "process" in doc:
        named = sorted({str(v) for k, v in walk(doc) if k in ("form", "start_form") and str(v) in forms})
        if named:
            write("definition", "\0".join([text] + [read(forms[n][0]) for n in named]))

# ---- condition: every expression, alone and with data from the scenarios -------------------------
EXPR_KEYS = {"when", "until", "check", "compute", "for_each", "due", "at", "value"}
expressions = set()
for p in definitions:
    doc = load(read(p))
    for k, v in walk(doc):
        if k in EXPR_KEYS and isinstance(v, str) and ("data." in v or "(" in v or "item" in v or "now" in v):
            expressions.add(v)
    # `input:` of a call maps names to expressions.
    if isinstance(doc, dict):
        for step in (doc.get("steps") or {}).values() if isinstance(doc.get("steps"), dict) else []:
            if isinstance(step, dict) and isinstance(step.get("input"), dict):
                expressions.update(v for v in step["input"].values() if isinstance(v, str))
datas = []
for p in files("processes/**/*.test.yaml"):
    doc = load(read(p))
    def maps(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "data" and isinstance(v, dict):
                    yield v
                yield from maps(v)
        elif isinstance(node, list):
            for v in node:
                yield from maps(v)
    for m in maps(doc):
        datas.append(json.dumps(m, ensure_ascii=False, default=str))
datas = sorted(set(datas))
for i, e in enumerate(sorted(expressions)):
    write("condition", e)
    # Each expression with some scenario's data, the data chosen by the expression's fields.
    fields = set(re.findall(r"data\.([A-Za-z_][A-Za-z0-9_]*)", e))
    fitting = [d for d in datas if any(f'"{f}"' in d for f in fields)] or datas
    if fitting:
        write("condition", e + "\0" + fitting[i % len(fitting)])
    if "item" in e:
        write("condition", e + "\0{}\0" + json.dumps({"fecha": "2026-03-20", "accion": "Llamar", "horas": 2}))

# ---- duration: each due, within, for, warn and advance, on the calendars -----------------------------
durations, warns = set(), set()
for p in definitions + files("processes/**/*.test.yaml"):
    for k, v in walk(load(read(p))):
        if isinstance(v, str) and re.match(r"^\s*\d+\s+\S", v):
            if k == "warn":
                warns.add(v)
            elif k in ("due", "within", "for", "advance", "after", "every"):
                durations.add(v)
        elif isinstance(v, str) and k == "warn":
            warns.add(v)
durations |= {"0 business days", "1 día hábil", "36600 days", "878400 horas hábiles", "52704000 minutes",
              "10 business days before", "90 days before", "2 hours after"}
warns |= {"80%", "after 3 business days", "1 business day before", "99%"}
starts = ["", "2026-03-13T16:05:00-06:00", "2026-12-24", "2199-12-31", "2026-03-18T09:00:00Z"]
cals = ["mx", "co", "pe", "utc"]
for i, d in enumerate(sorted(durations)):
    w = sorted(warns)[i % len(warns)]
    write("duration", "\n".join([d, w, starts[i % len(starts)], cals[i % len(cals)]]))
    write("duration", d)

# ---- form: each form with data of every field's type -------------------------------------------
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def sample(field, valid):
    t = field.get("type", "text")
    opts = list((field.get("options") or {}).keys())
    if t == "list":
        row = {n: sample(f, valid) for n, f in (field.get("fields") or {}).items() if isinstance(f, dict)}
        return [row] if valid else row
    value = {
        "text": "Laura Méndez", "long_text": "Respuesta al usuario.\nSegunda línea.", "integer": 3,
        "decimal": 1250.5, "date": "2026-03-18", "datetime": "2026-03-18T10:30:00-06:00", "boolean": True,
        "choice": opts[0] if opts else "x", "multi_choice": opts[:2], "email": "laura@example.org",
        "phone": "+52 33 9876 5432",
        "file": {"name": "informe.pdf", "sha256": SHA, "size": 1024, "type": "application/pdf"},
    }.get(t, "x")
    if valid:
        return value
    return {"integer": "tres", "decimal": "1,5", "date": "18/03/2026", "datetime": "2026-03-18",
            "boolean": "quizá", "choice": "otra", "email": "laura", "phone": "abc",
            "file": {"name": "x"}}.get(t, ["lista"])


for fid, (p, doc) in sorted(forms.items()):
    text = read(p)
    fields = {n: f for n, f in (doc.get("fields") or {}).items() if isinstance(f, dict) and "compute" not in f}
    good = {n: sample(f, True) for n, f in fields.items()}
    bad = {n: sample(f, False) for n, f in fields.items()}
    write("form", text + "\0" + json.dumps(good, ensure_ascii=False))
    write("form", text + "\0" + json.dumps(bad, ensure_ascii=False))
    write("form", text + "\0{}")
for d in datas[:40]:
    write("form", read(form_paths[0]) + "\0" + d)

for t in ("definition", "condition", "duration", "form"):
    print(t, len(os.listdir(os.path.join(OUT, t))))
