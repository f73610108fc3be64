//! `grafana-source check`: replay a log and report every broken invariant.
use super::{name_text, open_log, Failure, StepOut};
use grafana_source::replay::{self, Flow};
use grafana_source::Profile;
use std::io::{self, Write};

/// Replay a log and report each broken invariant: step, hook, invariant, names involved.
/// Exit status: 0 none broken, 1 some broken, 2 unusable input.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: super::LogInput,
    /// Which fold to check.
    #[arg(long, default_value = "libpatch21")]
    profile: Profile,
    /// One JSON object per violation instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), Failure> {
    let (entries, peer) = open_log(&a.input)?;
    let mut out = StepOut::for_log(&a.input.log);
    let (mut count, mut steps_with, mut steps) = (0u64, 0u64, 0u64);
    let mut io_err = None;
    let last = replay::replay_stream(entries, a.profile, peer, |_, r| {
        steps += 1;
        let render_error = r.datasources.as_ref().err().map(|e| e.name());
        if r.violations.is_empty()
            && (a.json || (r.diagnostics.is_empty() && render_error.is_none()))
        {
            return Flow::Continue;
        }
        steps_with += u64::from(!r.violations.is_empty());
        let mut res = Ok(());
        if !a.json {
            res = res.and_then(|_| writeln!(out, "step {} (line {}) {}", r.step, r.line, r.hook));
            if let Err(exc) = r.outcome {
                res = res.and_then(|_| writeln!(out, "  the hook raised {}", exc.name()));
            }
            if let Some(e) = render_error {
                res = res.and_then(|_| {
                    writeln!(out, "  note: the Grafana charm's renderer raises {e} on this state, so Grafana's provisioning file is not updated")
                });
            }
            for d in &r.diagnostics {
                let mut at = Vec::new();
                if let Some(rel) = d.relation {
                    at.push(format!("relation {rel}"));
                }
                if let Some(unit) = &d.unit {
                    at.push(format!("unit {unit}"));
                }
                at.push(format!("field {}", d.field));
                res = res.and_then(|_| writeln!(out, "  note ({}): {}", at.join(", "), d.message));
            }
        }
        for v in &r.violations {
            count += 1;
            res = res.and_then(|_| {
                if a.json {
                    let names: Vec<_> = v.names.iter().map(|n| n.to_json()).collect();
                    let obj = serde_json::json!({
                        "step": r.step, "line": r.line, "hook": &*r.hook,
                        "invariant": v.invariant.name(), "names": names,
                        "explanation": v.invariant.explanation(),
                    });
                    writeln!(out, "{obj}")
                } else {
                    let names: Vec<String> = v.names.iter().map(name_text).collect();
                    let who = if names.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", names.join(", "))
                    };
                    writeln!(
                        out,
                        "  {}{who}\n    {}.",
                        v.invariant.name(),
                        v.invariant.explanation()
                    )
                }
            });
        }
        match res.and_then(|()| out.step_done()) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                io_err = Some(e);
                Flow::Stop
            }
        }
    })?;
    super::leave(last);
    // A reader that went away (`| head`) still gets the exit status the log deserves.
    if let Some(e) = io_err.filter(|e| e.kind() != io::ErrorKind::BrokenPipe) {
        return Err(super::io_failure("cannot write output", e));
    }
    if !a.json {
        let _ = if count == 0 {
            writeln!(
                out,
                "No invariant broken in {steps} step{} (profile {}).",
                super::plural(steps),
                a.profile.name()
            )
        } else {
            writeln!(
                out,
                "{count} violation{} in {steps_with} of {steps} step{} (profile {}).",
                super::plural(count),
                super::plural(steps),
                a.profile.name()
            )
        };
    }
    if let Err(e) = out.flush() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(super::io_failure("cannot write output", e));
        }
    }
    if count > 0 {
        return Err(Failure {
            code: 1,
            message: String::new(),
        });
    }
    Ok(())
}
