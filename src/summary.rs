//! Human-readable output: what a person wants to know after a replay.
//!
//! Secrets (`secureJsonData`, from `secure_extra_fields`) are shown as `<redacted>`
//! unless the caller asks for them.
use crate::py::{self, PyValue};
use crate::render::RenderResult;
use crate::report::StepReport;
use anstyle::{AnsiColor, Style};
use std::fmt::Write;

const HEADING: Style = Style::new().bold();
const BAD: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default();
const GOOD: Style = AnsiColor::Green.on_default();

/// What a replay accumulates for its closing summary; bounded by the number of failures.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub steps: u64,
    pub last_line: u64,
    /// (step, line, hook, exception) of the first [`Tally::KEEP_FAILED`] failed hooks;
    /// memory stays bounded however long the log.
    pub failed: Vec<(u64, u64, String, &'static str)>,
    /// How many hooks failed in all.
    pub failed_total: u64,
    /// Per invariant name: how many steps broke it, and the first step that did.
    pub violations: Vec<(&'static str, u64, u64)>,
}

impl Tally {
    /// Failed hooks listed one by one; the rest are counted.
    pub const KEEP_FAILED: usize = 100;

    /// Account for one step report.
    pub fn add(&mut self, r: &StepReport) {
        self.steps += 1;
        self.last_line = r.line;
        if let Err(exc) = r.outcome {
            self.failed_total += 1;
            if self.failed.len() < Self::KEEP_FAILED {
                self.failed
                    .push((r.step, r.line, r.hook.to_string(), exc.name()));
            }
        }
        for v in &r.violations {
            let name = v.invariant.name();
            match self.violations.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => entry.1 += 1,
                None => self.violations.push((name, 1, r.step)),
            }
        }
    }
}

fn text(v: &PyValue) -> String {
    match v {
        PyValue::Str(s) => s.to_string(),
        other => other.py_repr(),
    }
}

/// The closing summary of a replay, after its last step (or the step `--at` chose).
///
/// The text carries ANSI styles; write it through `anstream`, which drops them when the
/// output is not a terminal or `NO_COLOR` is set (or strip them with
/// `anstream::adapter::strip_str`).
pub fn summary(
    profile: &str,
    tally: &Tally,
    rendered: &RenderResult,
    show_secrets: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Replayed {} step{} (profile {profile}), up to line {}.",
        tally.steps,
        if tally.steps == 1 { "" } else { "s" },
        tally.last_line
    );
    out.push('\n');
    match rendered {
        Err(exc) => {
            let _ = writeln!(
                out,
                "{BAD}The Grafana charm cannot render this state: its renderer raises {}.{BAD:#}",
                exc.name()
            );
        }
        Ok(r) => {
            let _ = writeln!(
                out,
                "{HEADING}Datasources provisioned ({}):{HEADING:#}",
                r.datasources.len()
            );
            if r.datasources.is_empty() {
                out.push_str("  (none)\n");
            }
            let rows: Vec<[String; 3]> = r
                .datasources
                .iter()
                .map(|d| [text(&d.name), text(&d.source_type), text(&d.url)])
                .collect();
            let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
            let (w0, w1) = (width(0).max(4), width(1).max(4));
            if !rows.is_empty() {
                let _ = writeln!(out, "  {:w0$}  {:w1$}  URL", "NAME", "TYPE");
            }
            for (row, d) in rows.iter().zip(&r.datasources) {
                let _ = writeln!(out, "  {:w0$}  {:w1$}  {}", row[0], row[1], row[2]);
                if let Some(j) = &d.json_data {
                    let _ = writeln!(out, "      jsonData: {}", py::json::dumps(j));
                }
                if let Some(s) = &d.secure_json_data {
                    let shown = if show_secrets {
                        py::json::dumps(s)
                    } else {
                        "<redacted>".to_string()
                    };
                    let _ = writeln!(out, "      secureJsonData: {shown}");
                }
            }
            out.push('\n');
            let _ = writeln!(
                out,
                "{HEADING}Scheduled for deletion ({}):{HEADING:#}",
                r.delete.len()
            );
            if r.delete.is_empty() {
                out.push_str("  (none)\n");
            }
            for n in &r.delete {
                let _ = writeln!(out, "  {}", text(n));
            }
        }
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{HEADING}Failed hooks ({}):{HEADING:#}",
        tally.failed_total
    );
    if tally.failed.is_empty() {
        out.push_str("  (none)\n");
    }
    for (step, line, hook, exc) in &tally.failed {
        let _ = writeln!(out, "  step {step} (line {line}) {hook}: {BAD}{exc}{BAD:#}");
    }
    let unlisted = tally.failed_total - tally.failed.len() as u64;
    if unlisted > 0 {
        let _ = writeln!(out, "  ... and {unlisted} more (`check` lists every one)");
    }
    out.push('\n');
    if tally.violations.is_empty() {
        let _ = writeln!(
            out,
            "{HEADING}Invariants:{HEADING:#} {GOOD}none broken.{GOOD:#}"
        );
    } else {
        let _ = writeln!(out, "{HEADING}Invariants broken:{HEADING:#}");
        for (name, count, first) in &tally.violations {
            let _ = writeln!(
                out,
                "  {WARN}{name}{WARN:#}: {count} step{}, first at step {first}",
                if *count == 1 { "" } else { "s" }
            );
        }
    }
    out
}

/// The provisioning JSON with every `secureJsonData` value replaced by `<redacted>`,
/// unless `show_secrets`.
pub fn redact_json(mut provisioning: serde_json::Value, show_secrets: bool) -> serde_json::Value {
    if show_secrets {
        return provisioning;
    }
    if let Some(list) = provisioning
        .get_mut("datasources")
        .and_then(|d| d.as_array_mut())
    {
        for ds in list {
            if let Some(secure) = ds.get_mut("secureJsonData") {
                *secure = match secure {
                    serde_json::Value::Object(m) => m
                        .keys()
                        .map(|k| (k.clone(), serde_json::Value::from("<redacted>")))
                        .collect(),
                    _ => serde_json::Value::from("<redacted>"),
                };
            }
        }
    }
    provisioning
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::PyExc;
    use crate::report::StepReport;

    fn failed_step(step: u64) -> StepReport {
        StepReport {
            step,
            line: step + 1,
            hook: "grafana-source-relation-departed".into(),
            outcome: Err(PyExc::IndexError),
            emitted: Vec::new(),
            peer_app_data: Default::default(),
            datasources: Err(PyExc::TypeError),
            violations: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    #[test]
    fn failures_are_counted_all_but_listed_up_to_a_bound() {
        let mut t = Tally::default();
        for step in 0..(Tally::KEEP_FAILED as u64 + 5) {
            t.add(&failed_step(step));
        }
        assert_eq!(t.failed.len(), Tally::KEEP_FAILED);
        assert_eq!(t.failed_total, Tally::KEEP_FAILED as u64 + 5);
        let text =
            anstream::adapter::strip_str(&summary("libpatch21", &t, &Err(PyExc::TypeError), false))
                .to_string();
        assert!(
            text.contains(&format!("Failed hooks ({}):", Tally::KEEP_FAILED + 5)),
            "{text}"
        );
        assert!(text.contains("... and 5 more"), "{text}");
    }
}
