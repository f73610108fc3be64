#!/usr/bin/env python3
"""Cross-check the rendered provisioning YAML with PyYAML (a YAML 1.1 reader, as the
Grafana charm's own yaml.dump/yaml.safe_load use).

For every conformance log and both profiles: `grafana-source render --format yaml` of the
final state, parsed by PyYAML, must equal the `datasources` of the last step report
(after Grafana's `$$` -> `$` for `verified`). Needs `pip install pyyaml` and a built binary.

    cargo build --release && python3 scripts/check_yaml_pyyaml.py
"""
import glob
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "grafana-source")


def unescape(v):
    if isinstance(v, str):
        return v.replace("$$", "$")
    if isinstance(v, list):
        return [unescape(x) for x in v]
    if isinstance(v, dict):
        return {unescape(k): unescape(x) for k, x in v.items()}
    return v


def main():
    failures = checked = 0
    logs = sorted(glob.glob(os.path.join(ROOT, "tests/conformance/cases/*.jsonl")))
    for log in (p for p in logs if not p.endswith(".expected.jsonl")):
        for profile in ("libpatch21", "verified"):
            r = subprocess.run([BIN, "render", "--profile", profile, log], capture_output=True, text=True)
            steps = subprocess.run([BIN, "replay", "--steps", "--profile", profile, log], capture_output=True, text=True)
            last = json.loads(steps.stdout.splitlines()[-1])
            if r.returncode != 0:
                if last["datasources"] is not None:
                    failures += 1
                    print(f"{log} {profile}: render failed: {r.stderr.strip()}")
                continue
            got = yaml.safe_load(r.stdout)
            if profile == "verified":
                got = unescape(got)
            checked += 1
            if got != last["datasources"]:
                failures += 1
                print(f"{log} {profile}: PyYAML read\n  {got}\nexpected\n  {last['datasources']}")
    print(f"{checked} files checked, {failures} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
