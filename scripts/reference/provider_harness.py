#!/usr/bin/env python3
"""Replay a provider log (docs/provider.md) through the reference library itself.

The provider-side counterpart of `harness.py`: the reference's `GrafanaSourceProvider`
(LIBPATCH 21, from the seed's text) runs in a minimal datasource charm built from the
configuration (docs/provider.md, "Configuration"), one real ops dispatch under
`ops.testing` (Scenario) per line: a hook line dispatches that hook, an `update_source`
line an action whose handler calls `update_source(url)`. It prints one JSON object per
line, as `grafana-source provider` does: `step`, `app_data` and `unit_data` (relation id
as a string -> what this unit wrote), `warnings` (the reference's log messages at level
WARNING), and `error` (the exception's class name) when the dispatch raised.

What the harness supplies: the world (which relations exist, this unit's sticky `leader`,
`fqdn` and `source_url`), and `socket.getfqdn()` answering the line's `fqdn`.

Hooks it can dispatch: install, start, stop, config-changed, update-status,
leader-elected, leader-settings-changed, upgrade-charm, `<container>-pebble-ready` for the
configuration's containers, the relation hooks of the provider's endpoint, and
`ingress-relation-changed`. Anything else is refused with exit status 3.

Usage: provider_harness.py [--seed-path PATH] --config CONFIG LOG > REPORTS.jsonl
"""

import argparse
import copy
import json
import os
import socket
import sys

from harness import DEFAULT_SEED, Unsupported, load_reference, this_unit

INGRESS = "ingress"
LIFECYCLE = {
    "install",
    "start",
    "stop",
    "config-changed",
    "update-status",
    "leader-elected",
    "leader-settings-changed",
    "upgrade-charm",
}
RELATION_KINDS = ("created", "joined", "changed", "departed", "broken")
GRAFANA = "grafana"


class World:
    def __init__(self, config):
        self.leader = False
        self.fqdn = None
        self.unit = None
        self.source_url = config.get("source_url", "")
        # relation id -> {"app": {...}, "unit": {...}}: what this unit wrote.
        self.relations = {}
        self.ingress = False


def snake(name):
    return name.replace("-", "_")


class Dispatcher:
    def __init__(self, reference, config):
        import ops
        from ops import testing

        self.testing = testing
        self.config = config
        self.endpoint = config.get("relation_name", "grafana-source")
        self.containers = list(config.get("containers", []))
        provider_type = reference.GrafanaSourceProvider
        endpoint = self.endpoint
        dispatcher = self

        def bound(charm, hook):
            """The BoundEvent of a Juju hook name, for `refresh_event`."""
            for c in dispatcher.containers:
                if hook == f"{c}-pebble-ready":
                    return charm.on[c].pebble_ready
            for ep in (endpoint, INGRESS):
                for kind in RELATION_KINDS:
                    if hook == f"{ep}-relation-{kind}":
                        return getattr(charm.on[ep], f"relation_{kind}")
            if hook in LIFECYCLE:
                return getattr(charm.on, snake(hook))
            raise Unsupported(f"refresh_event {hook!r}")

        class ProviderCharm(ops.CharmBase):
            def __init__(self, framework):
                super().__init__(framework)
                refresh = config.get("refresh_event")
                if isinstance(refresh, list):
                    refresh = [bound(self, h) for h in refresh]
                elif refresh is not None:
                    refresh = bound(self, refresh)
                self.provider = provider_type(
                    self,
                    source_type=config["source_type"],
                    source_port=config.get("source_port", ""),
                    source_url=dispatcher.world.source_url,
                    refresh_event=refresh,
                    relation_name=endpoint,
                    extra_fields=copy.deepcopy(config.get("extra_fields")),
                    secure_extra_fields=copy.deepcopy(config.get("secure_extra_fields")),
                )
                framework.observe(self.on["update-source"].action, self._on_update_source)

            def _on_update_source(self, event):
                url = event.params.get("url")
                if url is None:
                    self.provider.update_source()
                else:
                    self.provider.update_source(source_url=url)

        self.charm_type = ProviderCharm
        self.meta = {
            "name": config["application"],
            "provides": {endpoint: {"interface": "grafana_datasource"}},
            "requires": {INGRESS: {"interface": "ingress"}},
            "containers": {c: {"resource": f"{c}-image"} for c in self.containers},
        }
        self.actions = {"update-source": {"params": {"url": {"type": "string"}}}}
        # The world of the dispatch under way (`run`): its `fqdn` answers getfqdn().
        self.world = None
        socket.getfqdn = lambda *_: self.world.fqdn or ""

    def run(self, world, line):
        """(error name or None, warnings); `world.relations` takes what the unit wrote."""
        testing = self.testing
        self.world = world
        application = self.config["application"]
        app, number = this_unit(world.unit or f"{application}/0", application)
        rels = {}
        for rid, bags in sorted(world.relations.items()):
            rels[rid] = testing.Relation(
                endpoint=self.endpoint,
                interface="grafana_datasource",
                id=rid,
                remote_app_name=GRAFANA,
                local_app_data=dict(bags["app"]),
                local_unit_data=dict(bags["unit"]),
                remote_units_data={0: {}},
            )
        relations = list(rels.values())
        ingress = None
        hook = line.get("hook")
        if world.ingress:
            ingress_id = max(list(rels) + [0]) + 1000
            ingress = testing.Relation(
                endpoint=INGRESS, interface="ingress", id=ingress_id, remote_units_data={0: {}}
            )
            relations.append(ingress)
        containers = [testing.Container(c, can_connect=True) for c in self.containers]
        state = testing.State(
            relations=relations,
            containers=containers,
            leader=world.leader,
            model=testing.Model(name=self.config["model"], uuid=self.config["model_uuid"]),
        )
        ctx = testing.Context(
            self.charm_type,
            meta=self.meta,
            actions=self.actions,
            app_name=app,
            unit_id=number,
        )
        if hook is None:
            params = {} if line.get("url") is None else {"url": line["url"]}
            event = ctx.on.action("update-source", params=params)
        elif hook in LIFECYCLE:
            event = getattr(ctx.on, snake(hook))()
        elif hook == f"{INGRESS}-relation-changed":
            event = ctx.on.relation_changed(ingress, remote_unit=0)
        else:
            event = None
            for c in containers:
                if hook == f"{c.name}-pebble-ready":
                    event = ctx.on.pebble_ready(c)
            for kind in RELATION_KINDS:
                if hook == f"{self.endpoint}-relation-{kind}":
                    rel = rels[line["relation_id"]]
                    if kind in ("created", "broken"):
                        event = getattr(ctx.on, f"relation_{kind}")(rel)
                    else:
                        event = getattr(ctx.on, f"relation_{kind}")(rel, remote_unit=0)
            if event is None:
                raise Unsupported(f"hook {hook!r}")
        try:
            out = ctx.run(event, state)
        except testing.errors.UncaughtCharmError as e:
            cause = e.__cause__ or e
            return type(cause).__name__, warnings_of(ctx)
        for rid in world.relations:
            r = out.get_relation(rid)
            world.relations[rid] = {"app": dict(r.local_app_data), "unit": dict(r.local_unit_data)}
        return None, warnings_of(ctx)


def warnings_of(ctx):
    return [line.message for line in ctx.juju_log if line.level == "WARNING"]


def replay(config, lines, dispatcher, out):
    world = World(config)
    endpoint = dispatcher.endpoint
    for step, line in enumerate(lines):
        for key in ("leader", "fqdn", "unit", "source_url"):
            if line.get(key) is not None:
                setattr(world, key, line[key])
        hook = line.get("hook")
        prefix = f"{endpoint}-relation-"
        if hook is not None and hook.startswith(prefix):
            # Juju's state has the relation for this dispatch, `broken` included (ops then
            # leaves it out of model.relations); a log may start mid-life.
            world.relations.setdefault(line["relation_id"], {"app": {}, "unit": {}})
        if hook == f"{INGRESS}-relation-changed":
            world.ingress = True
        error, warnings = dispatcher.run(world, line)
        if hook is not None and hook == prefix + "broken":
            world.relations.pop(line["relation_id"], None)
        report = {
            "step": step,
            "app_data": {str(k): v["app"] for k, v in sorted(world.relations.items())},
            "unit_data": {str(k): v["unit"] for k, v in sorted(world.relations.items())},
            "warnings": warnings,
        }
        if error is not None:
            report["error"] = error
        out.write(json.dumps(report) + "\n")
        if error is not None:
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log")
    parser.add_argument("--config", required=True)
    parser.add_argument("--seed-path", default=DEFAULT_SEED)
    args = parser.parse_args()
    try:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
        with open(args.log, encoding="utf-8") as f:
            lines = [json.loads(t) for t in f if t.strip()]
    except (OSError, ValueError) as e:
        print(f"cannot read the configuration or the log: {e}", file=sys.stderr)
        return 2
    if not os.path.exists(args.seed_path):
        print(f"no reference library at {args.seed_path} (--seed-path)", file=sys.stderr)
        return 2
    dispatcher = Dispatcher(load_reference(args.seed_path), config)
    try:
        replay(config, lines, dispatcher, sys.stdout)
    except Unsupported as e:
        print(f"{args.log}: unsupported: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
