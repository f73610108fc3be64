//! `import jhack`: jhack's replay database (`event_db.json`) to hook log v1.
//!
//! The shape, as jhack's `jhack/utils/event_recorder/recorder.py` writes it with
//! `json.dumps(asdict(Data(scenes)))` (canonical/jhack, commit
//! `1f192e8e5219f91c80c05bddf2867efbfbd938b9`; the dataclasses `Data`, `Scene`, `Event`,
//! `Context`, `Memo`):
//!
//! ```text
//! {"scenes": [
//!   {"event":   {"env": {<os.environ at dispatch>}, "timestamp": "<isoformat>"},
//!    "context": {"memos": {
//!       "_ModelBackend.relation_get": {"calls": [[[[7, "prometheus/0", false], {}], {...}], ...],
//!                                      "cursor": 0, "caching_policy": "strict"},
//!       "_ModelBackend.config_get":   {"calls": {"[[], {}]": {...}},
//!                                      "cursor": "n/a", "caching_policy": "loose"},
//!       ...}}}]}
//! ```
//!
//! A memo is named `<namespace>.<function>`; `memo_tools.py` (same commit) decorates the
//! methods of ops' `_ModelBackend` with namespace `_ModelBackend`: `relation_get`,
//! `is_leader` (strict: `calls` is a list of `[[args, kwargs], output]` in call order) and
//! `relation_ids`, `relation_list`, `relation_remote_app_name`, `config_get` (loose: `calls`
//! maps `json.dumps([args, kwargs])` to the output). `self` is not recorded. Earlier jhack
//! versions named memos by the bare function name and had neither `caching_policy` nor
//! loose memos; both are read.
//!
//! One scene gives one line: the hook from `JUJU_HOOK_NAME` (or `JUJU_DISPATCH_PATH`),
//! `leader` from the first memoised `is_leader`, `config` from the first `config_get`,
//! `app_data` / `unit_data` from the first `relation_get` of the hook's remote application
//! / remote unit on the hook's relation (for the peer relation, the application is this
//! one). Ops caches each databag after its first read, so the first call is what the
//! hook saw before it wrote anything. Scenes of actions are skipped with a note.
use super::{
    field_err, index, join, kind, parse_document, string_map, Bag, Conversion, EnvConverter, Facts,
    ImportError, Location, Obj, Recorded,
};
use serde_json::{Map, Value};

/// Convert a jhack `event_db.json`.
pub fn convert(text: &str) -> Result<Conversion, ImportError> {
    // jhack's DB.load: an empty file is an empty database.
    if text.trim().is_empty() {
        return Ok(Conversion::default());
    }
    let doc = parse_document(text, "")?;
    let top_at = Location::Document;
    let top = Obj::new(&doc, String::new(), &top_at)?;
    top.only(&["scenes"])?;
    // jhack writes `{}` for a database with no scene yet (`raw.get("scenes", ())`).
    let scenes: &[Value] = match top.get("scenes") {
        None => &[],
        Some(Value::Array(scenes)) => scenes,
        Some(other) => {
            return Err(field_err(
                &top_at,
                "scenes",
                format!("expected a list, found {}", kind(other)),
            ))
        }
    };
    let mut conv = EnvConverter::default();
    for (i, scene) in scenes.iter().enumerate() {
        let at = Location::Scene(i);
        let scene = Obj::new(scene, String::new(), &at)?;
        scene.only(&["event", "context"])?;
        let event = scene.obj("event")?;
        event.only(&["env", "timestamp"])?;
        event.string("timestamp")?;
        let env = string_map(event.req("env")?, &event.field("env"), &at)?;
        // Scene.from_dict reads obj.get("context", {}), then Context.from_dict needs
        // "memos": a scene without it does not load in jhack either.
        let context = scene.obj("context")?;
        context.only(&["memos"])?;
        let memos = Memos::read(&context.obj("memos")?)?;
        let facts = Facts {
            leader: memos.leader()?,
            config: memos.config()?,
            recorded: &memos,
        };
        conv.hook(&at, &env, "event.env", facts)?;
    }
    Ok(conv.out)
}

/// One recorded call: positional arguments, keyword arguments, return value, and the
/// path naming it in errors.
struct Call {
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    output: Value,
    field: String,
}

/// A memoised `relation_get(relation_id, member_name, is_app)` and its databag.
struct RelationGet {
    relation_id: u64,
    member: String,
    is_app: bool,
    data: Bag,
}

/// The memos of one scene that the conversion reads.
struct Memos<'a> {
    at: &'a Location,
    is_leader: Vec<Call>,
    config_get: Vec<Call>,
    remote_app_name: Vec<(u64, Option<String>)>,
    relation_get: Vec<RelationGet>,
}

/// The hook-tool wrappers of ops' `_ModelBackend` this conversion reads.
const USED: [&str; 4] = [
    "is_leader",
    "config_get",
    "relation_get",
    "relation_remote_app_name",
];

/// The function a memo records: `_ModelBackend.<fn>` or (older jhack) a bare `<fn>`.
fn memo_function(name: &str) -> Option<&str> {
    let function = match name.rsplit_once('.') {
        Some(("_ModelBackend", f)) => f,
        Some(_) => return None,
        None => name,
    };
    USED.contains(&function).then_some(function)
}

impl<'a> Memos<'a> {
    fn read(memos: &Obj<'a>) -> Result<Self, ImportError> {
        let at = memos.at;
        let mut calls: Vec<(&str, Call)> = Vec::new();
        for (name, memo) in memos.map {
            let memo = Obj::new(memo, memos.field(name), at)?;
            memo.only(&["calls", "cursor", "caching_policy"])?;
            let policy = match memo.get("caching_policy") {
                None => "strict",
                Some(Value::String(p)) if p == "strict" || p == "loose" => p.as_str(),
                Some(other) => {
                    return Err(field_err(
                        at,
                        &memo.field("caching_policy"),
                        format!("expected \"strict\" or \"loose\", found {other}"),
                    ))
                }
            };
            match memo.get("cursor") {
                None => {}
                Some(Value::Number(n)) if n.is_u64() => {}
                Some(Value::String(s)) if s == "n/a" => {}
                Some(other) => {
                    return Err(field_err(
                        at,
                        &memo.field("cursor"),
                        format!("expected a count or \"n/a\", found {other}"),
                    ))
                }
            }
            let Some(function) = memo_function(name) else {
                continue;
            };
            for call in read_calls(&memo, policy)? {
                calls.push((function, call));
            }
        }
        let mut out = Memos {
            at,
            is_leader: Vec::new(),
            config_get: Vec::new(),
            remote_app_name: Vec::new(),
            relation_get: Vec::new(),
        };
        for (function, call) in calls {
            match function {
                "is_leader" => out.is_leader.push(call),
                "config_get" => out.config_get.push(call),
                "relation_remote_app_name" => {
                    let [relation_id] = bind(at, &call, ["relation_id"])?;
                    let relation_id = relation_number(at, &call, relation_id)?;
                    let app = match &call.output {
                        Value::String(s) => Some(s.clone()),
                        Value::Null => None,
                        other => {
                            return Err(field_err(
                                at,
                                &call.field,
                                format!(
                                    "expected the application name or null, found {}",
                                    kind(other)
                                ),
                            ))
                        }
                    };
                    out.remote_app_name.push((relation_id, app));
                }
                _ => {
                    let [relation_id, member, is_app] =
                        bind(at, &call, ["relation_id", "member_name", "is_app"])?;
                    let relation_id = relation_number(at, &call, relation_id)?;
                    let Value::String(member) = member else {
                        return Err(field_err(
                            at,
                            &call.field,
                            format!("member_name: expected a string, found {}", kind(member)),
                        ));
                    };
                    let Value::Bool(is_app) = is_app else {
                        return Err(field_err(
                            at,
                            &call.field,
                            format!("is_app: expected a boolean, found {}", kind(is_app)),
                        ));
                    };
                    let data = string_map(&call.output, &index(&call.field, 1), at)?;
                    out.relation_get.push(RelationGet {
                        relation_id,
                        member: member.clone(),
                        is_app: *is_app,
                        data,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The first memoised `is_leader()`.
    fn leader(&self) -> Result<Option<bool>, ImportError> {
        match self.is_leader.first() {
            None => Ok(None),
            Some(Call {
                output: Value::Bool(b),
                ..
            }) => Ok(Some(*b)),
            Some(call) => Err(field_err(
                self.at,
                &index(&call.field, 1),
                format!(
                    "is_leader: expected a boolean, found {}",
                    kind(&call.output)
                ),
            )),
        }
    }

    /// The first memoised `config_get()`.
    fn config(&self) -> Result<Option<Map<String, Value>>, ImportError> {
        match self.config_get.first() {
            None => Ok(None),
            Some(Call {
                output: Value::Object(config),
                ..
            }) => Ok(Some(config.clone())),
            Some(call) => Err(field_err(
                self.at,
                &index(&call.field, 1),
                format!(
                    "config_get: expected an object, found {}",
                    kind(&call.output)
                ),
            )),
        }
    }
}

impl Recorded for Memos<'_> {
    fn remote_app_name(&self, relation_id: u64) -> Option<String> {
        self.remote_app_name
            .iter()
            .find_map(|(id, app)| (*id == relation_id).then(|| app.clone()).flatten())
    }

    fn databag(&self, relation_id: u64, member: &str, is_app: bool) -> Option<Bag> {
        self.relation_get
            .iter()
            .find(|g| g.relation_id == relation_id && g.member == member && g.is_app == is_app)
            .map(|g| g.data.clone())
    }
}

/// The calls of one memo, in recorded order.
fn read_calls(memo: &Obj<'_>, policy: &str) -> Result<Vec<Call>, ImportError> {
    let at = memo.at;
    let field = memo.field("calls");
    let calls = match memo.get("calls") {
        None => return Ok(Vec::new()),
        Some(calls) => calls,
    };
    match (policy, calls) {
        ("strict", Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, call)| {
                let field = index(&field, i);
                let shape = || {
                    field_err(
                        at,
                        &field,
                        "expected [[args, kwargs], output] (a strict memo's call)",
                    )
                };
                let Value::Array(pair) = call else {
                    return Err(shape());
                };
                let [input, output] = pair.as_slice() else {
                    return Err(shape());
                };
                let (args, kwargs) = args_kwargs(input).ok_or_else(shape)?;
                Ok(Call {
                    args,
                    kwargs,
                    output: output.clone(),
                    field,
                })
            })
            .collect(),
        // Memo.__post_init__ makes an empty loose memo's calls `{}`; an older file may
        // still hold `[]`.
        ("loose", Value::Array(list)) if list.is_empty() => Ok(Vec::new()),
        ("loose", Value::Object(map)) => map
            .iter()
            .map(|(key, output)| {
                let field = join(&field, key);
                let (args, kwargs) = serde_json::from_str::<Value>(key)
                    .ok()
                    .as_ref()
                    .and_then(args_kwargs)
                    .ok_or_else(|| {
                        field_err(
                            at,
                            &field,
                            "a loose memo's key must be json.dumps([args, kwargs])",
                        )
                    })?;
                Ok(Call {
                    args,
                    kwargs,
                    output: output.clone(),
                    field,
                })
            })
            .collect(),
        (_, other) => Err(field_err(
            at,
            &field,
            format!(
                "expected {} for a {policy} memo, found {}",
                if policy == "strict" {
                    "a list"
                } else {
                    "an object"
                },
                kind(other)
            ),
        )),
    }
}

/// `[args, kwargs]` as jhack stores a call's input.
fn args_kwargs(input: &Value) -> Option<(Vec<Value>, Map<String, Value>)> {
    match input {
        Value::Array(pair) => match pair.as_slice() {
            [Value::Array(args), Value::Object(kwargs)] => Some((args.clone(), kwargs.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// Bind a call's arguments to the parameters of the ops method it recorded.
fn bind<'c, const N: usize>(
    at: &Location,
    call: &'c Call,
    params: [&str; N],
) -> Result<[&'c Value; N], ImportError> {
    if call.args.len() > N {
        return Err(field_err(
            at,
            &call.field,
            format!(
                "{} positional arguments, the method takes {N}",
                call.args.len()
            ),
        ));
    }
    if let Some(k) = call.kwargs.keys().find(|k| !params.contains(&k.as_str())) {
        return Err(field_err(
            at,
            &call.field,
            format!("unknown keyword argument `{k}`"),
        ));
    }
    let mut out = Vec::with_capacity(N);
    for (i, param) in params.iter().enumerate() {
        let value = call.args.get(i).or_else(|| call.kwargs.get(*param));
        out.push(
            value.ok_or_else(|| {
                field_err(at, &call.field, format!("argument `{param}` is missing"))
            })?,
        );
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("N arguments were pushed")))
}

fn relation_number(at: &Location, call: &Call, v: &Value) -> Result<u64, ImportError> {
    v.as_u64().ok_or_else(|| {
        field_err(
            at,
            &call.field,
            format!("relation_id: expected a relation number, found {v}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_names() {
        assert_eq!(memo_function("_ModelBackend.is_leader"), Some("is_leader"));
        assert_eq!(memo_function("relation_get"), Some("relation_get"));
        assert_eq!(memo_function("Client._request"), None);
        assert_eq!(memo_function("_ModelBackend.status_set"), None);
        assert_eq!(memo_function("<DEFAULT>.is_leader"), None);
    }

    #[test]
    fn empty_databases_have_no_scenes() {
        assert_eq!(convert("").unwrap(), Conversion::default());
        assert_eq!(convert("{}").unwrap(), Conversion::default());
        assert_eq!(convert("{\"scenes\": []}").unwrap(), Conversion::default());
    }
}
