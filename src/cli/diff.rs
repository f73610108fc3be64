//! `grafana-source diff`: what changed between two steps of one log.
use super::{name_text, open_log, Failure};
use grafana_source::py::PyValue;
use grafana_source::render::RenderResult;
use grafana_source::replay::{replay_stream, Flow};
use grafana_source::world::State;
use grafana_source::Profile;
use std::collections::BTreeMap;
use std::io::Write;

/// Show what changed in datasources, deletions and peer data between steps A and B.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: super::LogInput,
    /// The earlier step (0-based).
    a: usize,
    /// The later step (0-based).
    b: usize,
    #[arg(long, default_value = "libpatch21")]
    profile: Profile,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Show `secureJsonData` values and peer data in full instead of redacted.
    #[arg(long)]
    show_secrets: bool,
}

/// Datasources by name, each with the texts of its entries (sorted: under `libpatch21`
/// several may share a name, and a second one is a change), and deleted names. An entry's
/// text is Python's repr of its fields, as the file holds them (NaN is not None, 1 is not
/// 1.0), `secureJsonData` values redacted unless shown.
fn view(r: &RenderResult, show_secrets: bool) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let Ok(r) = r else { return Default::default() };
    let mut ds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in r.datasources.iter() {
        let fields: Vec<String> = d
            .fields()
            .map(|(field, v)| match (field, v) {
                ("secureJsonData", PyValue::Dict(m)) if !show_secrets => {
                    let keys: Vec<String> = m.keys().map(|k| format!("{k:?}")).collect();
                    format!("{field}: redacted {}", keys.join(", "))
                }
                ("secureJsonData", _) if !show_secrets => format!("{field}: redacted"),
                _ => format!("{field}: {}", v.py_repr()),
            })
            .collect();
        ds.entry(name_text(&d.name))
            .or_default()
            .push(fields.join("; "));
    }
    for entries in ds.values_mut() {
        entries.sort();
    }
    let del = r.delete.iter().map(name_text).collect();
    (ds, del)
}

fn peer(s: &State) -> BTreeMap<String, String> {
    s.peer_data()
        .map(|b| {
            b.iter()
                .map(|(k, v)| (k.to_string(), v.text().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(a: Args) -> Result<(), Failure> {
    let (entries, peer_at_start) = open_log(&a.input)?;
    // Fold up to the later of the two steps, as `replay --at` does, keeping the state and
    // render after each of them: memory as big as the world, not the log.
    let mut at: [Option<(State, RenderResult)>; 2] = [None, None];
    let mut steps = 0;
    let wanted = [a.a, a.b];
    replay_stream(entries, a.profile, peer_at_start, |replay, report| {
        let step = report.step as usize;
        steps = step + 1;
        for (slot, n) in at.iter_mut().zip(wanted) {
            if step == n {
                *slot = Some((replay.state().without_memo(), replay.rendered().clone()));
            }
        }
        if steps > a.a.max(a.b) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    })?;
    let [Some((sa, ra)), Some((sb, rb))] = at else {
        let n = wanted.into_iter().find(|n| *n >= steps).unwrap_or(steps);
        return Err(super::no_such_step(&format!("step {n}"), steps as u64));
    };
    let ((dsa, dela), (dsb, delb)) = (view(&ra, a.show_secrets), view(&rb, a.show_secrets));
    let added: Vec<&String> = dsb.keys().filter(|k| !dsa.contains_key(*k)).collect();
    let removed: Vec<&String> = dsa.keys().filter(|k| !dsb.contains_key(*k)).collect();
    let changed: Vec<&String> = dsa
        .keys()
        .filter(|k| dsb.get(*k).is_some_and(|v| v != &dsa[*k]))
        .collect();
    let del_added: Vec<&String> = delb.iter().filter(|n| !dela.contains(n)).collect();
    let del_removed: Vec<&String> = dela.iter().filter(|n| !delb.contains(n)).collect();
    let (pa, pb) = (peer(&sa), peer(&sb));
    let peer_keys: Vec<&String> = pa
        .keys()
        .chain(pb.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| pa.get(*k) != pb.get(*k))
        .collect();
    let mut out = std::io::stdout().lock();
    let res = if a.json {
        let obj = serde_json::json!({
            "from": a.a, "to": a.b,
            "datasources": {"added": added, "removed": removed, "changed": changed},
            "deleteDatasources": {"added": del_added, "removed": del_removed},
            "peer_data_changed": peer_keys,
            "render_error": {"from": ra.as_ref().err().map(|e| e.name()), "to": rb.as_ref().err().map(|e| e.name())},
        });
        writeln!(out, "{obj}")
    } else {
        let list = |v: &[&String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let mut text = format!(
            "From step {} to step {} (profile {}):\n",
            a.a,
            a.b,
            a.profile.name()
        );
        text += &format!("  datasources added:     {}\n  datasources removed:   {}\n  datasources changed:   {}\n", list(&added), list(&removed), list(&changed));
        text += &format!(
            "  deletions added:       {}\n  deletions removed:     {}\n",
            list(&del_added),
            list(&del_removed)
        );
        text += &format!("  peer data keys changed: {}\n", list(&peer_keys));
        for (label, r) in [("from", &ra), ("to", &rb)] {
            if let Err(e) = r {
                text += &format!("  the renderer raises {} at the {label} step\n", e.name());
            }
        }
        write!(out, "{text}")
    };
    res.map_err(|e| super::io_failure("cannot write output", e))
}
