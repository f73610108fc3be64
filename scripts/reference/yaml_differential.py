#!/usr/bin/env python3
"""The provisioning file against the Grafana charm's own: `grafana-source render`
(libpatch21, YAML) after each log, read by PyYAML, against the reference's final
provisioning dict as the charm writes it (`yaml.dump`, from harness.py --final-yaml),
read back the same way.

The two must be equal value for value with types kept: an int is not a float, NaN is
NaN, a dict's keys (int keys too) are the same, order aside (yaml.dump sorts keys), and
so are the datasources and deletions, in any order (spec section 2). A log
whose final render raises in the reference (no file) must make `render` exit 1 (the
charm's renderer raises); a log the harness left out has no file and is skipped.

Usage: yaml_differential.py --bin BIN CASES_DIR FINAL_DIR
       (CASES_DIR: NNN-name.jsonl logs; FINAL_DIR: NNN-name.yaml files)
Exit status: 0 every file agrees, 1 a mismatch (listed), 2 the comparison could not run.
"""
import argparse
import glob
import math
import os
import subprocess
import sys

import yaml


def same(a, b):
    """Equality with types kept (bool, int and float apart) and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def same_file(a, b):
    """`same`, with `datasources` and `deleteDatasources` compared as multisets: their
    order carries no meaning (spec section 2; the reference iterates a set of units)."""
    if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
        return same(a, b)
    for key in a:
        x, y = a[key], b[key]
        if key in ("datasources", "deleteDatasources") and isinstance(x, list) and isinstance(y, list):
            left = list(y)
            for item in x:
                match = next((i for i, other in enumerate(left) if same(item, other)), None)
                if match is None:
                    return False
                left.pop(match)
            if left:
                return False
        elif not same(x, y):
            return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("cases")
    parser.add_argument("final")
    args = parser.parse_args()
    checked = failed = skipped = 0
    logs = sorted(glob.glob(os.path.join(args.cases, "*.jsonl")))
    for log in (p for p in logs if not p.endswith(".expected.jsonl")):
        name = os.path.basename(log)[: -len(".jsonl")]
        final = os.path.join(args.final, name + ".yaml")
        run = subprocess.run(
            [args.bin, "render", "--profile", "libpatch21", log],
            capture_output=True,
            text=True,
        )
        if not os.path.exists(final):
            # The reference's render raised after the last line.
            checked += 1
            if run.returncode != 1:
                failed += 1
                print(f"{name}: the charm's render raises, `render` exited {run.returncode}")
            continue
        with open(final, encoding="utf-8") as f:
            theirs_text = f.read()
        if theirs_text.startswith("# yaml.dump raised"):
            checked += 1
            failed += 1
            print(f"{name}: {theirs_text.strip()[2:]}, `render` exited {run.returncode}")
            continue
        if run.returncode != 0:
            checked += 1
            failed += 1
            print(f"{name}: `render` exited {run.returncode}: {run.stderr.strip()}")
            continue
        try:
            ours = yaml.safe_load(run.stdout)
        except yaml.YAMLError as e:
            checked += 1
            failed += 1
            print(f"{name}: PyYAML cannot read the file `render` wrote: {e}")
            continue
        try:
            theirs = yaml.safe_load(theirs_text)
        except yaml.YAMLError:
            # yaml.dump wrote what safe_load refuses (a Python tag): nothing to compare.
            skipped += 1
            continue
        checked += 1
        if not same_file(ours, theirs):
            failed += 1
            print(f"{name}: the files differ\n  render:    {ours!r}\n  reference: {theirs!r}")
    print(
        f"provisioning files: {checked} compared, {failed} differ, {skipped} not comparable",
        file=sys.stderr,
    )
    if checked == 0:
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
