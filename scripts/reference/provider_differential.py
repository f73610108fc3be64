#!/usr/bin/env python3
"""Differential campaign for the provider side: `grafana-source provider` against the
reference's `GrafanaSourceProvider` (provider_harness.py), on seeded random
configurations and logs.

A configuration draws each field from values that reach the reference's rules (ports
Python formats oddly, URLs with and without a scheme, `alertmanager`'s implementation
rules, refresh events of every kind, one container or several); a log is an `install`
that names the unit, its leadership and its host name, then random hooks, relation
lifecycles on up to three relations, `update_source` calls, leadership flips and host
name and `source_url` changes. Per step the databags must be equal byte for byte
(`grafana_source_data` is `json.dumps` text) and each warning must start with the
reference's message (the fold appends the values in question). A configuration the
reference fails to construct a provider from must be one `grafana-source provider`
refuses.

Usage: provider_differential.py --bin BIN [--cases N] [--first-seed S] [--out DIR]
Exit status: 0 every case agrees, 1 a mismatch (listed), 2 the campaign could not run.
"""

import argparse
import io
import json
import os
import random
import subprocess
import sys

from harness import DEFAULT_SEED, load_reference
from provider_harness import Dispatcher, replay

TYPES = ["prometheus", "loki", "alertmanager", "mimir", "tempo", "jaeger"]
PORTS = ["9090", 3100, "", None, 0, True, 1.5, "80", []]
URLS = ["", "https://prom.example.com/cos-prometheus-0", "prom.example.com/p", "ü://x", "_x://y"]
EXTRA = [
    None,
    {},
    {"timeout": 30},
    {"implementation": ""},
    {"implementation": "cortex"},
    {"a": [1, 2.0, 1e100, "é", None, True], "b": {"c": 12345678901234567890123}},
    "text",
    [1],
]
SECURE = [None, {}, {"password": "s3cr$t"}, {"httpHeaderValue1": "Bearer x"}]
LIFECYCLE = ["start", "config-changed", "update-status", "leader-elected", "upgrade-charm"]


def random_config(rng):
    containers = rng.choice([[], ["workload"], ["workload", "sidecar"]])
    endpoint = rng.choice(["grafana-source"] * 4 + ["datasource"])
    refresh_choices = [
        None,
        [],
        "update-status",
        "ingress-relation-changed",
        ["leader-elected", "config-changed"],
        f"{endpoint}-relation-changed",
    ] + [f"{c}-pebble-ready" for c in containers]
    config = {
        "model": rng.choice(["cos", "lma-é"]),
        "model_uuid": "f2d1c2a0-6a1b-4e3c-9d7e-0a1b2c3d4e5f",
        "application": rng.choice(["prometheus", "loki-k8s"]),
        "source_type": rng.choice(TYPES),
        "relation_name": endpoint,
        "containers": containers,
    }
    optional = {
        "source_port": PORTS,
        "source_url": URLS + [None],
        "refresh_event": refresh_choices,
        "extra_fields": EXTRA,
        "secure_extra_fields": SECURE,
    }
    for key, values in optional.items():
        if rng.random() < 0.7:
            value = rng.choice(values)
            if value is not None or key != "refresh_event":
                config[key] = value
    return config


def random_log(rng, config, length):
    app = config["application"]
    endpoint = config["relation_name"]
    first = {
        "hook": "install",
        "unit": f"{app}/{rng.randrange(3)}",
        "leader": rng.random() < 0.6,
        "fqdn": f"{app}-0.{app}-endpoints.cos.svc.cluster.local",
    }
    lines = [first]
    for _ in range(length):
        r = rng.random()
        if r < 0.4:
            rid = rng.choice([1, 2, 7])
            kind = rng.choice(["created", "joined", "joined", "changed", "departed", "broken"])
            line = {"hook": f"{endpoint}-relation-{kind}", "relation_id": rid}
        elif r < 0.55:
            line = {"op": "update_source"}
            if rng.random() < 0.8:
                line["url"] = rng.choice(URLS + [None])
        elif r < 0.7 and config["containers"]:
            line = {"hook": f"{rng.choice(config['containers'])}-pebble-ready"}
        elif r < 0.78:
            line = {"hook": "ingress-relation-changed", "relation_id": 99}
        else:
            line = {"hook": rng.choice(LIFECYCLE)}
        if rng.random() < 0.1:
            line["leader"] = rng.random() < 0.5
        if rng.random() < 0.05:
            line["fqdn"] = rng.choice(["10.1.2.3", "host-b.example"])
        if rng.random() < 0.05:
            line["source_url"] = rng.choice(URLS)
        lines.append(line)
    return lines


def ours(binary, config_path, log_path):
    p = subprocess.run(
        [binary, "provider", "--config", config_path, log_path],
        capture_output=True,
        text=True,
    )
    reports = [json.loads(t) for t in p.stdout.splitlines() if t.strip()]
    return p.returncode, reports, p.stderr


def compare(name, mine, theirs, code, stderr):
    """Mismatch messages for one case."""
    out = []
    failed = [r for r in theirs if "error" in r]
    if failed:
        step = failed[0]["step"]
        if step != 0 or code != 2:
            out.append(
                f"{name}: the reference raised {failed[0]['error']} at step {step}; "
                f"grafana-source provider exited {code} after {len(mine)} steps: {stderr.strip()}"
            )
        return out
    if code != 0:
        return [f"{name}: grafana-source provider exited {code}: {stderr.strip()}"]
    if len(mine) != len(theirs):
        return [f"{name}: {len(mine)} reports, the reference gave {len(theirs)}"]
    for m, t in zip(mine, theirs):
        for key in ("app_data", "unit_data"):
            if m[key] != t[key]:
                out.append(f"{name} step {t['step']}: {key}: reference {t[key]!r}, ours {m[key]!r}")
        mw, tw = m["warnings"], t["warnings"]
        if len(mw) != len(tw) or not all(a.startswith(b) for a, b in zip(mw, tw)):
            out.append(f"{name} step {t['step']}: warnings: reference {tw!r}, ours {mw!r}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--out", default="target/provider-differential")
    parser.add_argument("--seed-path", default=DEFAULT_SEED)
    args = parser.parse_args()
    if not os.path.exists(args.seed_path):
        print(f"no reference library at {args.seed_path} (--seed-path)", file=sys.stderr)
        return 2
    reference = load_reference(args.seed_path)
    os.makedirs(args.out, exist_ok=True)
    mismatches, steps = [], 0
    for seed in range(args.first_seed, args.first_seed + args.cases):
        rng = random.Random(seed)
        config = random_config(rng)
        lines = random_log(rng, config, args.length)
        name = f"provider-s{seed}"
        config_path = os.path.join(args.out, f"{name}.config.json")
        log_path = os.path.join(args.out, f"{name}.jsonl")
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        with open(log_path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)
        buffer = io.StringIO()
        replay(config, lines, Dispatcher(reference, config), buffer)
        theirs = [json.loads(t) for t in buffer.getvalue().splitlines()]
        code, mine, stderr = ours(args.bin, config_path, log_path)
        steps += len(theirs)
        mismatches += compare(name, mine, theirs, code, stderr)
    for m in mismatches[:60]:
        print(m)
    print(
        f"provider campaign: {args.cases} cases, {steps} reference steps, "
        f"{len(mismatches)} mismatch(es) (cases in {args.out})",
        file=sys.stderr,
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
