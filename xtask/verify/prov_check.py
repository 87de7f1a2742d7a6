#!/usr/bin/env python3
"""Check the prov.json labbook wrote with the `prov` package (pinned 3.2.3).

Usage: prov_check.py PROV.json SPEC.json [--provn]

SPEC.json says what the graph must hold; every key is optional:
  {"entity": [id, ...], "activity": [...], "agent": [...],
   "used": [[activity, entity], ...], "generated": [[entity, activity], ...],
   "associated": [[activity, agent], ...], "informed": [[informed, informant], ...],
   "member": [[collection, entity], ...], "invalidated": [[entity, activity], ...],
   "attr": [[id, key, value], ...],      value as prov prints it (str of the literal)
   "type": [[id, qualified name], ...]}   one of the element's prov:type values
Ids are written as in the file (bare names are in the default namespace).
Checks:
 1. Structure prov itself does not enforce: top-level keys are PROV-JSON record types;
    every relation has its two required roles, naming declared elements of the right kind;
    typed literals (xsd:int/long/double/boolean/dateTime) are lexically valid; prefixes
    are absolute IRIs and `xsd` is not redeclared.
 2. prov.read(format="json") parses it with no warning, and serialize -> read is equal.
 3. The spec, against the parsed graph.
 4. `prov-convert -f provn` renders it (exit 0, a whole PROV-N document).
Prints 'prov_check: OK' and exits 0, or FAIL lines and exits 1.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import prov
from prov.model import ProvDocument

ELEMENTS = {"entity", "activity", "agent"}
# relation -> (first role, its kind, second role, its kind)
RELATIONS = {
    "used": ("prov:activity", "activity", "prov:entity", "entity"),
    "wasGeneratedBy": ("prov:entity", "entity", "prov:activity", "activity"),
    "wasInvalidatedBy": ("prov:entity", "entity", "prov:activity", "activity"),
    "wasAssociatedWith": ("prov:activity", "activity", "prov:agent", "agent"),
    "wasInformedBy": ("prov:informed", "activity", "prov:informant", "activity"),
    "wasStartedBy": ("prov:activity", "activity", "prov:trigger", "entity"),
    "wasEndedBy": ("prov:activity", "activity", "prov:trigger", "entity"),
    "wasDerivedFrom": ("prov:generatedEntity", "entity", "prov:usedEntity", "entity"),
    "wasAttributedTo": ("prov:entity", "entity", "prov:agent", "agent"),
    "actedOnBehalfOf": ("prov:delegate", "agent", "prov:responsible", "agent"),
    "wasInfluencedBy": ("prov:influencee", None, "prov:influencer", None),
    "specializationOf": ("prov:specificEntity", "entity", "prov:generalEntity", "entity"),
    "alternateOf": ("prov:alternate1", "entity", "prov:alternate2", "entity"),
    "hadMember": ("prov:collection", "entity", "prov:entity", "entity"),
}
OPTIONAL_SECOND = {"wasStartedBy", "wasEndedBy"}
LEX = {
    "xsd:int": r"[+-]?\d+", "xsd:long": r"[+-]?\d+", "xsd:integer": r"[+-]?\d+",
    "xsd:double": r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN",
    "xsd:float": r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN",
    "xsd:boolean": r"true|false|1|0",
}
# Which prov class each spec relation is, and its two roles.
SPEC_RELATIONS = {
    "used": ("ProvUsage", "prov:activity", "prov:entity"),
    "generated": ("ProvGeneration", "prov:entity", "prov:activity"),
    "associated": ("ProvAssociation", "prov:activity", "prov:agent"),
    "informed": ("ProvCommunication", "prov:informed", "prov:informant"),
    "member": ("ProvMembership", "prov:collection", "prov:entity"),
    "invalidated": ("ProvInvalidation", "prov:entity", "prov:activity"),
}


def is_datetime(s):
    try:
        datetime.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def check_value(where, v, fails):
    if isinstance(v, list):
        for x in v:
            check_value(where, x, fails)
    elif isinstance(v, dict):
        if "$" not in v:
            fails.append(f"{where}: typed value lacks '$'")
            return
        t = v.get("type")
        if t in LEX and not re.fullmatch(LEX[t], str(v["$"])):
            fails.append(f"{where}: {v['$']!r} is not a valid {t}")
        if t == "xsd:dateTime" and not is_datetime(v["$"]):
            fails.append(f"{where}: {v['$']!r} is not a valid xsd:dateTime")


def structure(raw, fails):
    prefixes = raw.get("prefix", {})
    if "xsd" in prefixes:
        fails.append("prefix xsd is redeclared")
    for name, iri in prefixes.items():
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", str(iri)):
            fails.append(f"prefix {name}: {iri!r} is not an absolute IRI")
    declared = {k: set(raw.get(k) or {}) for k in ELEMENTS}
    for key, body in raw.items():
        if key in ("prefix", "bundle") or key in ELEMENTS:
            continue
        if key not in RELATIONS:
            fails.append(f"unknown top-level key {key!r}")
            continue
        r1, k1, r2, k2 = RELATIONS[key]
        for rid, rel in body.items():
            for role, kind in ((r1, k1), (r2, k2)):
                if role not in rel:
                    if not (key in OPTIONAL_SECOND and role == r2):
                        fails.append(f"{key} {rid}: missing {role}")
                elif kind and rel[role] not in declared[kind]:
                    fails.append(f"{key} {rid}: {role}={rel[role]!r} is not a declared {kind}")
            for attr, v in rel.items():
                check_value(f"{key} {rid} {attr}", v, fails)
                if attr == "prov:time" and not is_datetime(v):
                    fails.append(f"{key} {rid}: prov:time {v!r} is not xsd:dateTime")
    for kind in ELEMENTS:
        for eid, attrs in (raw.get(kind) or {}).items():
            for attr, v in (attrs or {}).items():
                check_value(f"{kind} {eid} {attr}", v, fails)
                if attr in ("prov:startTime", "prov:endTime") and not is_datetime(v):
                    fails.append(f"{kind} {eid}: {attr} {v!r} is not xsd:dateTime")


def expectations(doc, spec, fails):
    records = list(doc.get_records())
    ids = {str(r.identifier): r for r in records if r.identifier is not None}
    kinds = {"entity": "ProvEntity", "activity": "ProvActivity", "agent": "ProvAgent"}
    for kind, cls in kinds.items():
        for want in spec.get(kind, []):
            if type(ids.get(want)).__name__ != cls:
                fails.append(f"{kind} {want!r} not found")
    pairs = {}
    for r in records:
        at = {str(k): str(v) for k, v in r.formal_attributes if v is not None}
        pairs.setdefault(type(r).__name__, set()).add(tuple(sorted(at.items())))
    for key, (cls, rx, ry) in SPEC_RELATIONS.items():
        for x, y in spec.get(key, []):
            if not any(dict(p).get(rx) == x and dict(p).get(ry) == y for p in pairs.get(cls, ())):
                fails.append(f"{key}({x}, {y}) missing")
    for rid, key, value in spec.get("attr", []):
        r = ids.get(rid)
        # typed literals prov keeps as Literal (xsd:long) compare by their lexical value
        got = [str(getattr(v, "value", v)) for k, v in (r.attributes if r else []) if str(k) == key]
        if str(value) not in got:
            fails.append(f"{rid} {key}: want {value!r}, got {got}")
    for rid, qname in spec.get("type", []):
        r = ids.get(rid)
        got = [str(v) for k, v in (r.attributes if r else []) if str(k) == "prov:type"]
        if qname not in got:
            fails.append(f"{rid} prov:type: want {qname}, got {got}")
    return records


def render(path, fails):
    exe = shutil.which("prov-convert") or os.path.join(os.path.dirname(sys.executable), "prov-convert")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "prov.provn")
        p = subprocess.run([exe, "-i", "json", "-f", "provn", path, out],
                           capture_output=True, text=True, timeout=120)
        text = open(out).read() if os.path.exists(out) else ""
    if p.returncode != 0:
        fails.append(f"prov-convert rc={p.returncode}: {p.stderr.strip()[:300]}")
    elif not (text.startswith("document") and text.rstrip().endswith("endDocument")):
        fails.append(f"prov-convert wrote no PROV-N document: {text[:200]!r}")
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("spec")
    ap.add_argument("--provn", action="store_true", help="print the PROV-N rendering")
    a = ap.parse_args()
    fails = []
    raw = json.load(open(a.file, encoding="utf-8"))
    if not isinstance(raw, dict):
        print("FAIL: the top level is not a JSON object")
        return 1
    structure(raw, fails)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            doc = prov.read(a.file, format="json")
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: prov.read: {type(e).__name__}: {e}")
            return 1
    fails += [f"prov warning: {str(w.message)[:200]}" for w in caught]
    text = doc.serialize(format="json")
    again = ProvDocument.deserialize(content=text, format="json")
    # NaN (a metric's last value) is never == itself, so compare the texts then
    if again != doc and again.serialize(format="json") != text:
        fails.append("serialize -> deserialize is not equal")
    records = expectations(doc, json.load(open(a.spec)), fails)
    provn = render(a.file, fails)
    if a.provn:
        print(provn)
    for f in fails:
        print("FAIL:", f)
    print(f"records={len(records)} namespaces={sorted(ns.prefix for ns in doc.namespaces)}")
    print("prov_check: OK" if not fails else f"prov_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
