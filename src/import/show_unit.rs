//! `import show-unit`: `juju show-unit UNIT --format json` of a Grafana unit, as a log
//! prefix that recreates the unit's world view and its peer data.
//!
//! The shape is Juju's `cmd/juju/application/showunit.go` (juju/juju; `UnitInfo`,
//! `RelationData`, `UnitRelationData`), written with Go's `encoding/json`:
//!
//! ```text
//! {"grafana/0": {"opened-ports": [], "charm": "...", "leader": true, "life": "alive",
//!   "relation-info": [
//!     {"relation-id": 4, "endpoint": "grafana-source", "related-endpoint": "grafana-source",
//!      "application-data": {...},                       // the related application's bag
//!      "local-unit": {"in-scope": true, "data": {...}},  // this unit's own bag
//!      "related-units": {"prometheus/0": {"in-scope": true, "data": {...}}}}],
//!   "provider-id": "grafana-0", "address": "10.1.2.3"}}
//! ```
//!
//! `application-data` is the *related* application's databag (jhack's `show-relation`
//! reads it that way); on the peer relation the related application is this one, so it is
//! the peer application databag. Juju leaves out a relation whose databags are all empty.
//!
//! The prefix: `install` with `unit` and `leader`; per `grafana-source` relation
//! (ascending `relation-id`) `-created`, `-changed` with `app_data`, and per related unit in
//! scope (ascending unit number) `-joined` and `-changed` with its data; last, for the peer
//! relation `grafana`, `grafana-relation-created` then `grafana-relation-changed` carrying
//! the peer application data. The peer relation is last so that a leader's
//! `grafana-source-relation-changed` handlers, which recompute `sources` from the relations
//! seen so far, run while no peer relation is visible (writes skipped): the prefix then ends
//! with exactly the dumped peer data, and no datasource appears and vanishes on the way
//! (which would break `stale-datasource`). Relations of other endpoints carry nothing the
//! hook log keeps and give no line; units not in scope are not members and give no line.
use super::{
    field_err, index, join, kind, parse_document, string_map, Bag, Conversion, ImportError,
    Location, LogLine, Obj,
};
use crate::log::{PEER_ENDPOINT, SOURCE_ENDPOINT};
use serde_json::Value;

const UNIT_FIELDS: [&str; 10] = [
    "workload-version",
    "machine",
    "opened-ports",
    "public-address",
    "charm",
    "leader",
    "life",
    "relation-info",
    "provider-id",
    "address",
];

const RELATION_FIELDS: [&str; 7] = [
    "relation-id",
    "endpoint",
    "cross-model",
    "related-endpoint",
    "application-data",
    "local-unit",
    "related-units",
];

/// One relation of the dump, as far as the prefix needs it.
struct Rel {
    id: u64,
    endpoint: String,
    field: String,
    app_data: Bag,
    /// Related units in scope: (number, name, databag).
    units: Vec<(u64, String, Bag)>,
}

/// Convert a show-unit dump into a log prefix.
pub fn convert(text: &str) -> Result<Conversion, ImportError> {
    let doc = parse_document(text, " (expected `juju show-unit UNIT --format json`)")?;
    let at = Location::Document;
    let top = Obj::new(&doc, String::new(), &at)?;
    let mut units = top.map.iter();
    let (unit, info) = match (units.next(), units.next()) {
        (Some(one), None) => one,
        (None, _) => return Err(field_err(&at, ".", "no unit in the dump")),
        (Some(_), Some((second, _))) => {
            return Err(field_err(
                &at,
                &join("", second),
                "the dump holds more than one unit; show one Grafana unit",
            ))
        }
    };
    let (app, _) = unit_number(unit)
        .ok_or_else(|| field_err(&at, &join("", unit), format!("`{unit}` is not a unit name")))?;
    let info = Obj::new(info, join("", unit), &at)?;
    info.only(&UNIT_FIELDS)?;
    let leader = info.boolean("leader")?;

    let mut peer: Option<Rel> = None;
    let mut sources: Vec<Rel> = Vec::new();
    let mut conv = Conversion::default();
    let relations: &[Value] = match info.get("relation-info") {
        None => &[],
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(field_err(
                &at,
                &info.field("relation-info"),
                format!("expected a list, found {}", kind(other)),
            ))
        }
    };
    for (i, rel) in relations.iter().enumerate() {
        let rel = read_relation(&at, &index(&info.field("relation-info"), i), rel)?;
        match rel.endpoint.as_str() {
            PEER_ENDPOINT => {
                if let Some(first) = &peer {
                    return Err(field_err(
                        &at,
                        &rel.field,
                        format!("a second peer relation (the first is {})", first.field),
                    ));
                }
                peer = Some(rel);
            }
            SOURCE_ENDPOINT => sources.push(rel),
            _ => {}
        }
    }
    sources.sort_by_key(|r| r.id);
    if let Some(w) = sources.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(field_err(
            &at,
            &w[1].field,
            format!("relation-id {} appears twice", w[1].id),
        ));
    }

    let mut install = LogLine::new("install");
    install.unit = Some(unit.clone());
    install.leader = Some(leader);
    conv.push(&at, install)?;

    let relation_line = |hook: &str, rel: &Rel, remote_app: &str| {
        let mut line = LogLine::new(format!("{}-relation-{hook}", rel.endpoint));
        line.relation = Some(rel.endpoint.clone());
        line.relation_id = Some(rel.id);
        line.remote_app = Some(remote_app.to_string());
        line
    };
    for rel in &sources {
        // The related application is named only through its units.
        let Some(remote_app) = rel
            .units
            .first()
            .and_then(|(_, u, _)| unit_number(u))
            .map(|(a, _)| a.to_string())
        else {
            conv.note(
                &at,
                format!(
                    "{}: relation {} skipped: no related unit in scope names its application, and without units it provides no datasource",
                    rel.field, rel.id
                ),
            );
            continue;
        };
        conv.push(&at, relation_line("created", rel, &remote_app))?;
        let mut changed = relation_line("changed", rel, &remote_app);
        changed.app_data = Some(rel.app_data.clone());
        conv.push(&at, changed)?;
        for (_, name, data) in &rel.units {
            let mut joined = relation_line("joined", rel, &remote_app);
            joined.remote_unit = Some(name.clone());
            conv.push(&at, joined)?;
            let mut changed = relation_line("changed", rel, &remote_app);
            changed.remote_unit = Some(name.clone());
            changed.unit_data = Some(data.clone());
            conv.push(&at, changed)?;
        }
    }
    // The peer relation comes last: until it exists a leader's handlers neither read nor
    // write the consumer's state, so the prefix ends with exactly the dumped peer data and
    // renders nothing before it (no datasource appears and vanishes on the way).
    if let Some(rel) = &peer {
        conv.push(&at, relation_line("created", rel, app))?;
        let mut changed = relation_line("changed", rel, app);
        changed.app_data = Some(rel.app_data.clone());
        conv.push(&at, changed)?;
    }
    Ok(conv)
}

fn read_relation(at: &Location, field: &str, rel: &Value) -> Result<Rel, ImportError> {
    let rel = Obj::new(rel, field.to_string(), at)?;
    rel.only(&RELATION_FIELDS)?;
    let endpoint = rel.string("endpoint")?.to_string();
    rel.string("related-endpoint")?;
    let id = match rel.req("relation-id")? {
        Value::Number(n) if n.is_u64() => n.as_u64().unwrap_or_default(),
        other => {
            return Err(field_err(
                at,
                &rel.field("relation-id"),
                format!("expected a relation number, found {other}"),
            ))
        }
    };
    if let Some(v) = rel.get("cross-model") {
        if !v.is_boolean() {
            return Err(field_err(
                at,
                &rel.field("cross-model"),
                format!("expected a boolean, found {}", kind(v)),
            ));
        }
    }
    let app_data = bag(
        at,
        &rel.field("application-data"),
        rel.req("application-data")?,
    )?;
    if let Some(local) = rel.get("local-unit") {
        unit_relation_data(at, &rel.field("local-unit"), local)?;
    }
    let mut units = Vec::new();
    if let Some(related) = rel.get("related-units") {
        let related = Obj::new(related, rel.field("related-units"), at)?;
        for (name, data) in related.map {
            let field = related.field(name);
            let (in_scope, data) = unit_relation_data(at, &field, data)?;
            let Some((_, number)) = unit_number(name) else {
                return Err(field_err(
                    at,
                    &field,
                    format!("`{name}` is not a unit name"),
                ));
            };
            // A unit out of scope is not a member: the charm does not see it.
            if in_scope {
                units.push((number, name.clone(), data));
            }
        }
    }
    units.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(Rel {
        id,
        endpoint,
        field: field.to_string(),
        app_data,
        units,
    })
}

/// `{"in-scope": bool, "data": {...}}`; Go writes a nil map as `null`.
fn unit_relation_data(at: &Location, field: &str, v: &Value) -> Result<(bool, Bag), ImportError> {
    let obj = Obj::new(v, field.to_string(), at)?;
    obj.only(&["in-scope", "data"])?;
    let in_scope = obj.boolean("in-scope")?;
    let data = bag(at, &obj.field("data"), obj.req("data")?)?;
    Ok((in_scope, data))
}

/// A databag; Go writes a nil map as `null`.
fn bag(at: &Location, field: &str, v: &Value) -> Result<Bag, ImportError> {
    match v {
        Value::Null => Ok(Bag::new()),
        v => string_map(v, field, at),
    }
}

/// `app/N` as (app, N).
fn unit_number(unit: &str) -> Option<(&str, u64)> {
    let (app, n) = unit.split_once('/')?;
    if app.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((app, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_numbers() {
        assert_eq!(unit_number("prometheus/10"), Some(("prometheus", 10)));
        assert_eq!(unit_number("prometheus"), None);
        assert_eq!(unit_number("p/x"), None);
        assert_eq!(unit_number("/1"), None);
    }
}
