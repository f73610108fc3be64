//! `grafana-source diff`: what changed between two steps of one log.
use super::{open_log, Failure};
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

/// Datasources by name (JSON text of each entry), and deleted names.
fn view(r: &RenderResult, show_secrets: bool) -> (BTreeMap<String, String>, Vec<String>) {
    let Ok(r) = r else { return Default::default() };
    let file = grafana_source::summary::redact_json(r.to_json(), show_secrets);
    let name = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ds = file["datasources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| (name(&d["name"]), d.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let del = file["deleteDatasources"]
        .as_array()
        .map(|a| a.iter().map(|d| name(&d["name"])).collect())
        .unwrap_or_default();
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
