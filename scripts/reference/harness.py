#!/usr/bin/env python3
"""Replay a hook log (hook log v1) through the reference library itself.

The reference is `grafana_source` LIBPATCH 21, loaded from its source text (by default
`../shared/seed/grafana_source_libpatch21.txt` beside the project). Each line of the log
that the consumer observes (`grafana-source-relation-changed`, `-departed`, the peer's
`grafana-relation-changed`, `upgrade-charm`), and every other relation hook of the two
endpoints that names a remote unit, runs as one real ops dispatch under `ops.testing`
(Scenario), in a minimal Grafana test charm, on the world the log has built so far; the
harness prints one step report per line in the shape of spec section 2, so that
`CONFORMANCE_DIR=<dir> cargo test --test conformance` can hold the `libpatch21` profile to
it. `scripts/reference/differential.sh` runs whole campaigns.

What the harness itself supplies, from the spec and the conformance corpus's conventions
(`tests/conformance/README.md`), not from the reference:
- the world view (section 1: sticky unit, leader and config; relation membership and
  databags; the peer relation's visibility);
- `datasources`: the Grafana charm's `_generate_datasource_config` as spec section 2 and
  the corpus conventions describe it (the charm's source is not in the seed);
- `violations`: section 3's invariants.
Other hooks run no ops dispatch: they change no consumer state (section 1), and ops has
nothing to refuse in them, so they report `ok` with nothing emitted. A relation hook that
names a unit is dispatched even when unobserved, because ops makes its event anyway and
refuses one whose unit is not of the hook's application (`JUJU_REMOTE_APP`) with
RuntimeError before any handler; `JUJU_REMOTE_APP` and `JUJU_REMOTE_UNIT` are set as the
line gives them.

Scenario numbers remote units and names them `<remote app>/<number>`; the harness patches
its backend so that units the log names otherwise (`prometheus`, `tempo/`, `a/0/b`) keep
their names. What the harness cannot represent, or what has no single answer, is refused
with exit status 3: this unit not named `<app>/<number>`; a remote unit named as this
unit (ops then takes it for this unit, whose own databag a log does not describe); a hook
that may run a handler while a relation's members include a unit of another application
(ops takes the relation's application from its first member, in an order Juju never
defines for that; such a member joins the world view through a hook ops refuses); a
`stored_state` that is no object; a value nested near Python's recursion limit (where it
fails depends on the caller's stack); a report that would hold a lone surrogate, or a char
of U+100000..U+1007FF (the fold's stand-ins for lone surrogates, src/py/json.rs).
Reports are strict JSON, as `replay --steps` writes them: a NaN or infinity in the
provisioning file is null. Exit status 2: the log or the arguments are unusable.

Usage: harness.py [--seed-path PATH] [--final-yaml PATH] LOG > REPORTS.jsonl
(--final-yaml: also the provisioning file after the last line, as the charm writes it.)
"""

import argparse
import contextlib
import io
import json
import logging
import os
import re
import sys
import types

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "seed", "grafana_source_libpatch21.txt")
)

SOURCE = "grafana-source"
PEER = "grafana"
OBSERVED = {
    "grafana-source-relation-changed",
    "grafana-source-relation-departed",
    "grafana-relation-changed",
    "upgrade-charm",
}
DEFAULT_TIMEOUT = 300
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
NUMBER = re.compile(r"[0-9]+")


def unit_fields(line):
    """The line with an empty `remote_unit` or `departing_unit` as none: Juju sets the
    variable empty when a hook names no unit, and ops reads it so (as the crate's parse
    does)."""
    for field in ("remote_unit", "departing_unit"):
        if line.get(field) == "":
            line[field] = None
    return line


def names_remote_unit(line):
    """Whether a relation hook of the two endpoints names a remote unit. ops makes an event
    for every such hook, observed or not, and refuses to make one whose unit is not of its
    application (RuntimeError): those hooks run an ops dispatch too. Without a unit, an
    unobserved hook has nothing ops could refuse."""
    return line.get("relation") in (SOURCE, PEER) and line.get("remote_unit") is not None


def of_other_application(unit, app):
    """Whether ops takes `unit` for a unit of another application than `app` (its name up
    to the first `/`; with no `app`, a name without `/` is invalid)."""
    return unit.split("/")[0] != app if app else "/" not in unit


class Unsupported(Exception):
    """Something in the log the harness cannot represent faithfully."""


def reference_source(text):
    """The library's Python source out of the seed. The seed is the library's page on
    Charmhub as text: page lines before the source (which starts at its copyright comment)
    and the page's next text run on after the source's last line (`juju deploy ...`)."""
    start = text.find("# Copyright")
    if start < 0:
        raise ValueError("no `# Copyright` line: not the seed's layout")
    source = text[start:]
    end = source.find("juju deploy ")
    return source if end < 0 else source[:end] + "\n"


def load_reference(path):
    with open(path, encoding="utf-8") as f:
        source = reference_source(f.read())
    module = types.ModuleType("grafana_source")
    module.__file__ = path
    sys.modules["grafana_source"] = module
    exec(compile(source, path, "exec"), module.__dict__)
    return module


# --- the world view (spec section 1) -------------------------------------------------


class World:
    def __init__(self, peer_visible):
        self.unit = None
        self.leader = False
        self.config = {}
        # relation id -> {"app": str, "app_data": dict, "units": {unit name: dict}}
        self.relations = {}
        self.peer_visible = peer_visible
        self.peer_id = None
        self.peer_data = {}

    def apply(self, line):
        if line.get("unit") is not None:
            self.unit = line["unit"]
        if line.get("leader") is not None:
            self.leader = line["leader"]
        if line.get("config") is not None:
            self.config.update(line["config"])
        endpoint = line.get("relation")
        if endpoint is None:
            return
        kind = line["hook"][len(endpoint) + 1 :]
        if endpoint == SOURCE:
            self._apply_source(line, kind)
        elif endpoint == PEER:
            self._apply_peer(line, kind)

    def _apply_source(self, line, kind):
        rid = line["relation_id"]
        if kind == "relation-broken":
            self.relations.pop(rid, None)
            return
        if kind == "relation-created" or rid not in self.relations:
            # `changed` creates what it names: a log may start mid-life.
            self.relations[rid] = {"app": line["remote_app"], "app_data": {}, "units": {}}
        rel = self.relations[rid]
        rel["app"] = line["remote_app"]
        if line.get("app_data") is not None:
            rel["app_data"] = dict(line["app_data"])
        unit = line.get("remote_unit")
        if unit is None:
            return
        if kind == "relation-departed":
            rel["units"].pop(unit, None)
        elif kind in ("relation-joined", "relation-changed"):
            rel["units"].setdefault(unit, {})
            if line.get("unit_data") is not None:
                rel["units"][unit] = dict(line["unit_data"])
        elif line.get("unit_data") is not None:
            rel["units"][unit] = dict(line["unit_data"])

    def _apply_peer(self, line, kind):
        self.peer_id = line["relation_id"]
        if kind == "relation-broken":
            self.peer_visible = False
            self.peer_data = {}
            return
        if not self.peer_visible:
            self.peer_visible = True
            self.peer_data = {}
        if line.get("app_data") is not None:
            self.peer_data = dict(line["app_data"])

    def peer_app_data(self):
        return dict(self.peer_data) if self.peer_visible else {}


def peer_at_start(lines):
    """Visible from the first line unless the first peer line is `grafana-relation-created`."""
    for line in lines:
        if line.get("relation") == PEER:
            return line["hook"] != "grafana-relation-created"
    return True


# --- one ops dispatch per hook that runs one -----------------------------------------


def this_unit(name, app=None):
    """(application, unit number) of the unit the charm runs as, which Scenario makes from
    the two: `name` must be `<app>/<number>` (and of `app`, when given)."""
    unit_app, _, number = name.partition("/")
    if not unit_app or not NUMBER.fullmatch(number) or app not in (None, unit_app):
        raise Unsupported(f"this unit {name!r} is not {app or '<app>'}/<number>")
    return unit_app, int(number)


# Scenario numbers remote units and names them `<app>/<number>`; a log's unit name of any
# other shape gets a number from here up, and the patched backend answers with the name.
ODD_BASE = 1_000_000


def unit_ids(app, names):
    """Scenario's unit number for each of the log's remote unit names."""
    ids, odd = {}, []
    prefix = app + "/"
    for name in sorted(names):
        number = name[len(prefix) :]
        if name.startswith(prefix) and NUMBER.fullmatch(number) and int(number) < ODD_BASE:
            ids[name] = int(number)
        else:
            odd.append(name)
    for i, name in enumerate(odd):
        ids[name] = ODD_BASE + i
    return ids


class Dispatcher:
    """Runs the reference inside a minimal Grafana charm under ops.testing."""

    def __init__(self, reference):
        import ops
        from ops import testing

        self.testing = testing
        self.reference = reference
        consumer_type = reference.GrafanaSourceConsumer

        class GrafanaTestCharm(ops.CharmBase):
            def __init__(self, framework):
                super().__init__(framework)
                self.consumer = consumer_type(self, SOURCE)
                framework.observe(self.on.upgrade_charm, self._on_upgrade_charm)

            @property
            def peers(self):
                return self.model.get_relation(PEER)

            def _on_upgrade_charm(self, _event):
                self.consumer.upgrade_keys()

        self.charm_type = GrafanaTestCharm
        self.meta = {
            "name": "grafana",
            "requires": {SOURCE: {"interface": "grafana_datasource"}},
            "peers": {PEER: {"interface": "grafana_peers"}},
        }
        self.owner_path = "GrafanaTestCharm/GrafanaSourceConsumer[grafana-source]"
        # What the next dispatch's JUJU_REMOTE_UNIT is (None: as Scenario sets it), and
        # the log's unit names by (relation id, Scenario's name) and back.
        self._remote_unit = None
        self._remote_app = None
        self._names = {}
        self._scenario_names = {}
        self._patch_scenario()

    def _patch_scenario(self):
        from scenario import _runtime, mocking

        harness = self
        event_env = _runtime.Runtime._get_event_env

        def patched_event_env(runtime, *args, **kwargs):
            # Scenario fills JUJU_REMOTE_UNIT in with a unit of the relation when the
            # event names none, and can only name `<app>/<number>`; Juju sets the unit
            # the log gives, or "" (ops reads it as none). The consumer reads no
            # departing unit.
            env = event_env(runtime, *args, **kwargs)
            if harness._remote_app is not None:
                env["JUJU_REMOTE_APP"] = harness._remote_app
            if harness._remote_unit is not None:
                env["JUJU_REMOTE_UNIT"] = harness._remote_unit
                if env.get("JUJU_HOOK_NAME", "").endswith("-relation-departed"):
                    env["JUJU_DEPARTING_UNIT"] = ""
            return env

        relation_list = mocking._MockModelBackend.relation_list
        relation_get = mocking._MockModelBackend._relation_get

        def patched_relation_list(backend, relation_id, *args, **kwargs):
            names = relation_list(backend, relation_id, *args, **kwargs)
            return tuple(harness._names.get((relation_id, n), n) for n in names)

        def patched_relation_get(backend, relation_id, member_name, *args, **kwargs):
            member_name = harness._scenario_names.get((relation_id, member_name), member_name)
            return relation_get(backend, relation_id, member_name, *args, **kwargs)

        _runtime.Runtime._get_event_env = patched_event_env
        mocking._MockModelBackend.relation_list = patched_relation_list
        mocking._MockModelBackend._relation_get = patched_relation_get

    def run(self, world, line):
        """(error name or None, emitted events, peer app data after)."""
        testing = self.testing
        hook = line["hook"]
        app, number = this_unit(world.unit or "grafana/0")
        relations = []
        by_id = {}
        self._names, self._scenario_names = {}, {}
        remote = line.get("remote_unit")
        endpoint = line.get("relation")
        # A hook naming a unit of another application fails before any handler (ops
        # refuses its event, whatever the members; the reports show whether it did).
        handlers_may_run = hook in OBSERVED and not (
            remote and of_other_application(remote, line.get("remote_app"))
        )
        source_relations = dict(world.relations)
        if endpoint == SOURCE and line["relation_id"] not in source_relations:
            # relation-broken: gone from the world view, but the event is made for it.
            source_relations[line["relation_id"]] = {"app": line["remote_app"], "app_data": {}, "units": {}}
        used = set(source_relations)
        for rid in sorted(source_relations):
            rel = source_relations[rid]
            named = set(rel["units"])
            if endpoint == SOURCE and rid == line["relation_id"] and remote is not None:
                named.add(remote)  # a departing unit is no member any more
            if world.unit in named or (world.unit is None and "grafana/0" in named):
                # ops takes such a member for this very unit (`relation.data` then reads
                # this unit's own databag, which a log does not describe).
                raise Unsupported(f"a remote unit of relation {rid} is named as this unit")
            if handlers_may_run and any(of_other_application(u, rel["app"]) for u in rel["units"]):
                # ops takes a relation's application from its first member, in the order
                # relation-list gives, which Juju never had to define for units of several
                # applications; and reading another application's databag fails in Juju.
                raise Unsupported(f"a member of relation {rid} is a unit of another application")
            ids = unit_ids(rel["app"], named)
            for name, number in ids.items():
                self._names[(rid, f"{rel['app']}/{number}")] = name
                self._scenario_names[(rid, name)] = f"{rel['app']}/{number}"
            units = {ids[u]: dict(bag) for u, bag in rel["units"].items()}
            r = testing.Relation(
                endpoint=SOURCE,
                interface="grafana_datasource",
                id=rid,
                remote_app_name=rel["app"],
                remote_app_data=dict(rel["app_data"]),
                remote_units_data=units,
            )
            relations.append(r)
            by_id[rid] = r
        peer = None
        if world.peer_visible or endpoint == PEER:
            pid = world.peer_id if world.peer_id is not None else 0
            while pid in used:
                pid += 1000
            peer = testing.PeerRelation(
                endpoint=PEER, interface="grafana_peers", id=pid, local_app_data=dict(world.peer_data)
            )
            relations.append(peer)
        stored = []
        if hook == "upgrade-charm":
            legacy = line.get("stored_state") or {}
            if not isinstance(legacy, dict):
                raise Unsupported(f"stored_state {legacy!r} is no StoredState")
            # The legacy type of `sources_to_delete` is a set; a value that cannot be one
            # is stored as it is.
            to_delete = legacy.get("sources_to_delete", [])
            if isinstance(to_delete, list):
                try:
                    to_delete = set(to_delete)
                except TypeError:
                    pass
            content = {"sources": legacy.get("sources", {}), "sources_to_delete": to_delete}
            stored.append(
                testing.StoredState(name="_stored", owner_path=self.owner_path, content=content)
            )
        state = testing.State(
            relations=relations, leader=world.leader, stored_states=stored
        )
        ctx = testing.Context(
            self.charm_type, meta=self.meta, app_name=app, unit_id=number
        )
        self._remote_unit = None
        self._remote_app = None
        if hook == "upgrade-charm":
            event = ctx.on.upgrade_charm()
        else:
            # JUJU_REMOTE_APP and JUJU_REMOTE_UNIT as the line gives them: ops makes the
            # event's application and unit from the two.
            self._remote_app = line["remote_app"]
            self._remote_unit = "" if remote is None else remote
            remote_id = None
            if endpoint == PEER:
                # The peer handler reads no unit: Scenario is told of none, and the
                # patched environment names the line's.
                rel = peer
            else:
                rel = by_id[line["relation_id"]]
                if remote is not None:
                    remote_id = int(self._scenario_names[(rel.id, remote)].rsplit("/", 1)[1])
            kind = hook[len(endpoint) + 1 :]
            if kind == "relation-created":
                event = ctx.on.relation_created(rel)
            elif kind == "relation-joined":
                event = ctx.on.relation_joined(rel, remote_unit=remote_id)
            elif kind == "relation-changed":
                event = ctx.on.relation_changed(rel, remote_unit=remote_id)
            elif kind == "relation-departed":
                event = ctx.on.relation_departed(rel, remote_unit=remote_id)
            else:
                event = ctx.on.relation_broken(rel)
        # Scenario's consistency check refuses a relation event that names no remote unit
        # (Juju sends one for application data; ops accepts it), a peer unit it was not
        # told of, and an event for a relation the world view no longer has.
        skip = "SCENARIO_SKIP_CONSISTENCY_CHECKS"
        if self._remote_unit == "" or endpoint == PEER or hook not in OBSERVED:
            os.environ[skip] = "1"
        try:
            out = ctx.run(event, state)
        except testing.errors.UncaughtCharmError as e:
            cause = e.__cause__ or e
            if isinstance(cause, RecursionError):
                raise Unsupported(DEPTH_DEPENDENT) from e
            return type(cause).__name__, [], world.peer_app_data()
        finally:
            os.environ.pop(skip, None)
        emitted = [
            ev.handle.kind
            for ev in ctx.emitted_events
            if isinstance(ev, self.reference.GrafanaSourcesChanged)
        ]
        after = {}
        if peer is not None:
            after = dict(out.get_relation(peer.id).local_app_data)
        return None, emitted, after


# --- the charm's render (spec section 2) and the invariants (section 3) ---------------


# Python's recursion limit counts the frames below `json.loads` too, so where a value
# nested about a thousand deep fails depends on the caller's stack; the fold models the
# nominal limit (src/py/json.rs). Such a log has no single answer to compare with.
DEPTH_DEPENDENT = "a value nested near Python's recursion limit (RecursionError)"

# What the charm's render may raise; `json.JSONDecodeError` is a `ValueError` and is
# reported by its own class name.
RENDER_ERRORS = (AttributeError, TypeError, ValueError, KeyError, OverflowError, IndexError)


def _peer_value(peer, key):
    text = peer.get(key, "")
    return json.loads(text) if text else {}


def _render(peer, config):
    """`_generate_datasource_config` over the peer databag: (datasources, names to delete)."""
    configured = config.get("datasource_query_timeout", DEFAULT_TIMEOUT)
    sources = []
    for source in _peer_value(peer, "sources").values():
        sources.extend(list(source))
    datasources = []
    for info in sources:
        ds = {
            "orgId": "1",
            "access": "proxy",
            "isDefault": "false",
            "name": info["source_name"],
            "url": info["url"],
            "type": info["source_type"],
        }
        json_data = info.get("extra_fields") or None
        secure = info.get("secure_extra_fields") or None
        timeout = (json_data or {}).get("timeout", 0)
        if int(timeout) < configured:
            json_data = dict(json_data or {})
            json_data["timeout"] = configured
        if json_data:
            ds["jsonData"] = json_data
        if secure:
            ds["secureJsonData"] = secure
        datasources.append(ds)
    delete = _peer_value(peer, "sources_to_delete") or []
    return datasources, list(delete)


def rendered(peer, config):
    """(provisioning file or None, render error name or None)."""
    try:
        datasources, delete = _render(peer, config)
    except RENDER_ERRORS as e:
        return None, type(e).__name__
    except RecursionError as e:
        raise Unsupported(DEPTH_DEPENDENT) from e
    return (
        {
            "apiVersion": 1,
            "datasources": datasources,
            "deleteDatasources": [{"orgId": 1, "name": n} for n in delete],
        },
        None,
    )


def delete_names(peer):
    """The names in `sources_to_delete`; none when it cannot be read as a list."""
    try:
        value = _peer_value(peer, "sources_to_delete")
        return list(value) if value else []
    except (ValueError, TypeError):
        return []


def violations(before, after, *, failed, seen_leader, seen_peer, after_peer, departing_self):
    """Spec section 3 on one step: `before`/`after` are the renders (None: failed),
    `seen_peer` the peer databag the handler saw, `after_peer` the one it left."""
    out = []
    names_after = [d["name"] for d in after["datasources"]] if after else []
    deleted_after = [d["name"] for d in after["deleteDatasources"]] if after else []
    if before is not None and after is not None:
        for d in before["datasources"]:
            n = d["name"]
            if n not in names_after and n not in deleted_after:
                out.append("stale-datasource")
                break
    if after is not None:
        if any(n in deleted_after for n in names_after):
            out.append("delete-overlap")
        if any(n in names_after[:i] for i, n in enumerate(names_after)):
            out.append("duplicate-name")
    if not seen_leader and seen_peer != after_peer:
        out.append("non-leader-write")
    if failed:
        out.append("hook-failed")
    if after is not None and any(
        not (isinstance(d["url"], str) and SCHEME.match(d["url"])) for d in after["datasources"]
    ):
        out.append("url-without-scheme")
    if departing_self:
        seen_delete = delete_names(seen_peer)
        grown = [n for n in delete_names(after_peer) if n not in seen_delete]
        if grown:
            out.append("self-departure-deletes")
    return out


# --- the replay ----------------------------------------------------------------------


def replay(lines, dispatcher, out):
    world = World(peer_at_start(lines))
    previous, _ = rendered(world.peer_app_data(), world.config)
    for step, line in enumerate(lines):
        world.apply(line)
        seen_peer = world.peer_app_data()
        error, emitted = None, []
        if line["hook"] in OBSERVED or names_remote_unit(line):
            error, emitted, after_peer = dispatcher.run(world, line)
            if error is None and world.peer_visible:
                world.peer_data = after_peer
        report = {"step": step, "hook": line["hook"]}
        report["outcome"] = "ok" if error is None else "error"
        if error is not None:
            report["error"] = error
        report["emitted"] = emitted
        after_peer = world.peer_app_data()
        report["peer_app_data"] = after_peer
        now, render_error = rendered(after_peer, world.config)
        report["datasources"] = now
        if render_error is not None:
            report["render_error"] = render_error
        departing = line.get("departing_unit")
        report["violations"] = violations(
            previous,
            now,
            failed=error is not None,
            seen_leader=world.leader,
            seen_peer=seen_peer,
            after_peer=after_peer,
            departing_self=departing is not None and departing == world.unit,
        )
        out.write(report_line(report) + "\n")
        previous = now
    return previous


# The fold holds a lone surrogate as a char of U+100000..U+1007FF (src/py/json.rs): a
# report line cannot carry a lone surrogate as JSON, and a genuine char of that block is
# written back as one. A log whose reports would hold either is refused; one that holds
# them only inside peer data text is compared, and a difference there shows as a mismatch.
STAND_INS = re.compile("[\U00100000-\U001007ff\ud800-\udfff]")


def report_line(report):
    """The report as strict JSON, as `replay --steps` writes it: a float that JSON cannot
    hold (NaN, infinities) in the provisioning file is null."""

    def strict(v):
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return None
        if isinstance(v, list):
            return [strict(x) for x in v]
        if isinstance(v, dict):
            return {k: strict(x) for k, x in v.items()}
        return v

    report = dict(report, datasources=strict(report["datasources"]))
    text = json.dumps(report, ensure_ascii=False, allow_nan=False)
    if STAND_INS.search(text):
        raise Unsupported("a lone surrogate, or a char of U+100000..U+1007FF")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log")
    parser.add_argument("--seed-path", default=DEFAULT_SEED)
    parser.add_argument(
        "--final-yaml",
        metavar="PATH",
        help="also write the provisioning file after the last line as the Grafana charm "
        "does (yaml.dump of its dict); when the charm's render raises, write nothing",
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    try:
        with open(args.log, encoding="utf-8") as f:
            lines = []
            for number, text in enumerate(f, start=1):
                if text.strip():
                    try:
                        lines.append(unit_fields(json.loads(text)))
                    except json.JSONDecodeError as e:
                        print(f"{args.log}:{number}: not JSON: {e}", file=sys.stderr)
                        return 2
    except OSError as e:
        print(f"cannot read {args.log}: {e}", file=sys.stderr)
        return 2
    if not os.path.exists(args.seed_path):
        print(f"no reference library at {args.seed_path} (--seed-path)", file=sys.stderr)
        return 2
    dispatcher = Dispatcher(load_reference(args.seed_path))
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            final = replay(lines, dispatcher, buffer)
    except Unsupported as e:
        print(f"{args.log}: unsupported: {e}", file=sys.stderr)
        return 3
    sys.stdout.write(buffer.getvalue())
    if args.final_yaml:
        if os.path.exists(args.final_yaml):
            os.remove(args.final_yaml)
        if final is not None:
            try:
                text = yaml.dump(final)
            except Exception as e:  # the charm's hook would fail the same way
                text = f"# yaml.dump raised {type(e).__name__}\n"
            with open(args.final_yaml, "w", encoding="utf-8") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
