//! `grafana-source diff-profiles`: where `libpatch21` and `verified` disagree.
use super::{open_log, Failure, StepOut};
use grafana_source::render::RenderResult;
use grafana_source::replay::{decide_peer, Replay};
use grafana_source::Profile;
use std::collections::BTreeSet;
use std::io::Write;

/// For each step where the two profiles disagree on the provisioned or deleted names,
/// show both sides. Exit status: 0 no disagreement, 1 some, 2 unusable input.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: super::LogInput,
    /// One JSON object per differing step instead of text.
    #[arg(long)]
    json: bool,
}

/// Provisioned and deleted names, or the render error.
type Names = Result<(BTreeSet<String>, BTreeSet<String>), &'static str>;

fn names(r: &RenderResult) -> Names {
    use grafana_source::py::PyValue;
    let text = |v: &PyValue| match v {
        PyValue::Str(s) => s.to_string(),
        other => other.py_repr(),
    };
    match r {
        Ok(r) => Ok((
            r.datasources.iter().map(|d| text(&d.name)).collect(),
            r.delete.iter().map(text).collect(),
        )),
        Err(e) => Err(e.name()),
    }
}

fn side(n: &Names, deleted: bool) -> String {
    match n {
        Err(e) => format!("(render fails: {e})"),
        Ok((p, d)) => {
            let set = if deleted { d } else { p };
            if set.is_empty() {
                "-".to_string()
            } else {
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        }
    }
}

fn json_side(n: &Names) -> serde_json::Value {
    match n {
        Err(e) => serde_json::json!({"render_error": e}),
        Ok((p, d)) => {
            serde_json::json!({"provisioned": p, "deleted": d})
        }
    }
}

pub fn run(a: Args) -> Result<(), Failure> {
    let (log, peer) = open_log(&a.input)?;
    let (peer, entries) = decide_peer(log, peer);
    let mut reference = Replay::new(Profile::Libpatch21, peer);
    let mut verified = Replay::new(Profile::Verified, peer);
    let mut out = StepOut::for_log(&a.input.log);
    let (mut differing, mut steps) = (0u64, 0u64);
    for entry in entries {
        let entry = entry?;
        let r = reference.step(&entry);
        verified.step(&entry);
        steps += 1;
        let (nr, nv) = (names(reference.rendered()), names(verified.rendered()));
        if nr == nv {
            continue;
        }
        differing += 1;
        let res = if a.json {
            let obj = serde_json::json!({
                "step": r.step, "line": r.line, "hook": &*r.hook,
                "libpatch21": json_side(&nr), "verified": json_side(&nv),
            });
            writeln!(out, "{obj}")
        } else {
            writeln!(
                out,
                "step {} (line {}) {}\n  provisioned  libpatch21: {}\n               verified:   {}\n  deleted      libpatch21: {}\n               verified:   {}",
                r.step, r.line, r.hook,
                side(&nr, false), side(&nv, false), side(&nr, true), side(&nv, true)
            )
        };
        res.and_then(|()| out.step_done())
            .map_err(|e| super::io_failure("cannot write output", e))?;
    }
    if !a.json {
        let _ = writeln!(
            out,
            "The profiles disagree on {differing} of {steps} step{}.",
            super::plural(steps)
        );
    }
    out.flush()
        .map_err(|e| super::io_failure("cannot write output", e))?;
    super::leave((reference, verified));
    if differing > 0 {
        return Err(Failure {
            code: 1,
            message: String::new(),
        });
    }
    Ok(())
}
