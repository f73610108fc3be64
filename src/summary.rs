//! Human-readable output: what a person wants to know after a replay.
//!
//! Secrets (`secureJsonData`, from `secure_extra_fields`) are shown as `<redacted>`
//! unless the caller asks for them.
use crate::py::{self, PyValue};
use crate::render::{Datasource, RenderResult};
use crate::report::StepReport;
use anstyle::{AnsiColor, Style};
use std::borrow::Cow;
use std::io::{self, Write};

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

/// How a value is shown in the summary: a string as it is, anything else as Python's `repr`.
fn text(v: &PyValue) -> Cow<'_, str> {
    match v {
        PyValue::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.py_repr()),
    }
}

/// The closing summary of a replay, after its last step (or the step `--at` chose), as a
/// `String`; [`write_summary`] writes the same text without holding it.
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
    let mut out = Vec::new();
    write_summary(&mut out, profile, tally, rendered, show_secrets)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("the summary is written from `str`s")
}

/// Write the closing summary to `out` as it goes: its size is the final state's (every
/// datasource, every name scheduled for deletion), so building it whole would make the
/// end of a long replay its peak of memory. Columns are sized in a first pass over the
/// datasources that allocates only for the rare name that is not a string.
pub fn write_summary<W: Write>(
    out: &mut W,
    profile: &str,
    tally: &Tally,
    rendered: &RenderResult,
    show_secrets: bool,
) -> io::Result<()> {
    writeln!(
        out,
        "Replayed {} step{} (profile {profile}), up to line {}.",
        tally.steps,
        plural(tally.steps),
        tally.last_line
    )?;
    writeln!(out)?;
    match rendered {
        Err(exc) => {
            writeln!(
                out,
                "{BAD}The Grafana charm cannot render this state: its renderer raises {}.{BAD:#}",
                exc.name()
            )?;
        }
        Ok(r) => {
            writeln!(
                out,
                "{HEADING}Datasources provisioned ({}):{HEADING:#}",
                r.datasources.len()
            )?;
            if r.datasources.is_empty() {
                writeln!(out, "  (none)")?;
            } else {
                let width = |f: fn(&Datasource) -> &PyValue| {
                    r.datasources
                        .iter()
                        .map(|d| text(f(d)).chars().count())
                        .max()
                        .unwrap_or(0)
                        .max(4)
                };
                let (w0, w1) = (width(|d| &d.name), width(|d| &d.source_type));
                writeln!(out, "  {:w0$}  {:w1$}  URL", "NAME", "TYPE")?;
                for d in &r.datasources {
                    let (name, kind) = (text(&d.name), text(&d.source_type));
                    writeln!(out, "  {name:w0$}  {kind:w1$}  {}", text(&d.url))?;
                    if let Some(j) = &d.json_data {
                        writeln!(out, "      jsonData: {}", py::json::dumps(j))?;
                    }
                    if let Some(s) = &d.secure_json_data {
                        let shown = if show_secrets {
                            Cow::Owned(py::json::dumps(s))
                        } else {
                            Cow::Borrowed("<redacted>")
                        };
                        writeln!(out, "      secureJsonData: {shown}")?;
                    }
                }
            }
            writeln!(out)?;
            writeln!(
                out,
                "{HEADING}Scheduled for deletion ({}):{HEADING:#}",
                r.delete.len()
            )?;
            if r.delete.is_empty() {
                writeln!(out, "  (none)")?;
            }
            for n in &r.delete {
                writeln!(out, "  {}", text(n))?;
            }
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{HEADING}Failed hooks ({}):{HEADING:#}",
        tally.failed_total
    )?;
    if tally.failed.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (step, line, hook, exc) in &tally.failed {
        writeln!(out, "  step {step} (line {line}) {hook}: {BAD}{exc}{BAD:#}")?;
    }
    let unlisted = tally.failed_total - tally.failed.len() as u64;
    if unlisted > 0 {
        writeln!(out, "  ... and {unlisted} more (`check` lists every one)")?;
    }
    writeln!(out)?;
    if tally.violations.is_empty() {
        writeln!(
            out,
            "{HEADING}Invariants:{HEADING:#} {GOOD}none broken.{GOOD:#}"
        )?;
    } else {
        writeln!(out, "{HEADING}Invariants broken:{HEADING:#}")?;
        for (name, count, first) in &tally.violations {
            writeln!(
                out,
                "  {WARN}{name}{WARN:#}: {count} step{}, first at step {first}",
                plural(*count)
            )?;
        }
    }
    Ok(())
}

/// The plural ending of a count's noun, for messages to people.
///
/// ```
/// use grafana_source::summary::plural;
/// assert_eq!(format!("{} step{}", 1, plural(1)), "1 step");
/// assert_eq!(format!("{} step{}", 0, plural(0)), "0 steps");
/// ```
pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
            redact_datasource(ds);
        }
    }
    provisioning
}

/// A `datasources` entry with its `secureJsonData` values replaced by `<redacted>`.
pub(crate) fn redact_datasource(ds: &mut serde_json::Value) {
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

/// The closing summary as one JSON object (`replay --json`), serialised as it is written:
/// the provisioning file inside is as big as the final state, so it is never built whole
/// ([`crate::render::RenderedJson`]). The bytes are
/// those of `{"profile", "steps", "datasources": redact_json(rendered.to_json()),
/// "failed_hooks", "failed_hooks_total", "violations"[, "render_error"]}`.
pub struct JsonSummary<'a> {
    pub profile: &'a str,
    pub tally: &'a Tally,
    pub rendered: &'a RenderResult,
    pub show_secrets: bool,
}

impl serde::Serialize for JsonSummary<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        use serde_json::json;
        let failed: Vec<_> = self
            .tally
            .failed
            .iter()
            .map(|(step, line, hook, exc)| json!({"step": step, "line": line, "hook": hook, "error": exc}))
            .collect();
        let violations: Vec<_> = self
            .tally
            .violations
            .iter()
            .map(|(name, count, first)| json!({"invariant": name, "steps": count, "first_step": first}))
            .collect();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("profile", self.profile)?;
        m.serialize_entry("steps", &self.tally.steps)?;
        match self.rendered {
            Ok(r) => m.serialize_entry(
                "datasources",
                &crate::render::RenderedJson {
                    rendered: r,
                    redact: !self.show_secrets,
                },
            )?,
            Err(_) => m.serialize_entry("datasources", &())?,
        }
        m.serialize_entry("failed_hooks", &failed)?;
        m.serialize_entry("failed_hooks_total", &self.tally.failed_total)?;
        m.serialize_entry("violations", &violations)?;
        if let Err(exc) = self.rendered {
            m.serialize_entry("render_error", exc.name())?;
        }
        m.end()
    }
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
            emitted: crate::reducer::Emitted::new(),
            peer_app_data: Default::default(),
            datasources: Err(PyExc::TypeError),
            violations: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    fn datasource(name: PyValue, kind: &str, url: &str) -> Datasource {
        Datasource {
            name,
            source_type: PyValue::Str(kind.into()),
            url: PyValue::Str(url.into()),
            json_data: None,
            secure_json_data: Some(PyValue::Str("hunter2".into())),
        }
    }

    /// Columns are as wide as their widest cell counted in characters, a name that is not
    /// a string is shown as its `repr`, secrets stay redacted, and the text is the same
    /// whether it is built whole or written as it goes.
    #[test]
    fn columns_fit_characters_and_odd_names() {
        use crate::render::{DatasourceList, Rendered};
        let list = DatasourceList::from_vec(vec![
            datasource(PyValue::Str("éééééé".into()), "prometheus", "http://a"),
            datasource(PyValue::Bool(true), "loki", "http://b"),
        ]);
        let rendered: RenderResult = Ok(std::sync::Arc::new(Rendered::new(
            list,
            Default::default(),
            true,
            None,
        )));
        let t = Tally::default();
        let whole = summary("verified", &t, &rendered, false);
        let mut streamed = Vec::new();
        write_summary(&mut streamed, "verified", &t, &rendered, false).unwrap();
        assert_eq!(whole.as_bytes(), streamed);
        let text = anstream::adapter::strip_str(&whole).to_string();
        let rows: Vec<&str> = text.lines().skip(3).take(5).collect();
        assert_eq!(
            rows,
            [
                "  NAME    TYPE        URL",
                "  éééééé  prometheus  http://a",
                "      secureJsonData: <redacted>",
                "  True    loki        http://b",
                "      secureJsonData: <redacted>",
            ],
            "{text}"
        );
        assert!(!text.contains("hunter2"));
        assert!(summary("verified", &t, &rendered, true).contains("hunter2"));
    }

    /// The streamed JSON summary is the object built whole, secrets redacted unless asked
    /// for; a render error gives `null` datasources and names the exception.
    #[test]
    fn json_summary_streams_the_whole_object() {
        use crate::render::{DatasourceList, Rendered};
        use serde_json::json;
        let list = DatasourceList::from_vec(vec![
            datasource(PyValue::Str("a".into()), "prometheus", "http://a"),
            datasource(PyValue::Bool(true), "loki", "http://b"),
        ]);
        let delete = [PyValue::Str("gone".into())].into_iter().collect();
        let rendered: RenderResult =
            Ok(std::sync::Arc::new(Rendered::new(list, delete, true, None)));
        let mut t = Tally::default();
        t.add(&failed_step(3));
        for show_secrets in [false, true] {
            let streamed = serde_json::to_string(&JsonSummary {
                profile: "verified",
                tally: &t,
                rendered: &rendered,
                show_secrets,
            })
            .unwrap();
            let whole = json!({
                "profile": "verified",
                "steps": 1,
                "datasources": redact_json(rendered.as_ref().unwrap().to_json(), show_secrets),
                "failed_hooks": [{"step": 3, "line": 4, "hook": "grafana-source-relation-departed", "error": "IndexError"}],
                "failed_hooks_total": 1,
                "violations": [],
            });
            assert_eq!(streamed, whole.to_string());
            assert_eq!(streamed.contains("hunter2"), show_secrets, "{streamed}");
        }
        let failed: RenderResult = Err(PyExc::TypeError);
        let streamed = serde_json::to_string(&JsonSummary {
            profile: "libpatch21",
            tally: &Tally::default(),
            rendered: &failed,
            show_secrets: false,
        })
        .unwrap();
        assert_eq!(
            streamed,
            r#"{"profile":"libpatch21","steps":0,"datasources":null,"failed_hooks":[],"failed_hooks_total":0,"violations":[],"render_error":"TypeError"}"#
        );
    }

    /// A writer that fails is reported, not ignored.
    #[test]
    fn write_errors_come_back() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_summary(
            &mut Full,
            "verified",
            &Tally::default(),
            &Err(PyExc::TypeError),
            false,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
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
