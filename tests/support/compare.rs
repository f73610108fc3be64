//! Step-report comparison for the conformance corpus: the "Comparing" rules of
//! `tests/conformance/README.md`, exactly.
//!
//! - `step`, `hook`, `outcome`, `error`, `emitted` (ordered), `render_error`: equal. A field
//!   absent on one side and present on the other is a mismatch (absent is *not* null).
//! - `peer_app_data`: same keys; each value is JSON text compared parsed. Inside `sources`
//!   (relation id -> list) each relation's list is a multiset; `sources_to_delete` is a
//!   multiset. A value that does not parse compares as text.
//! - `datasources`: `datasources` and `deleteDatasources` are multisets, everything else equal.
//! - `violations`: a set.
//! - Any other field carries no meaning.
//!
//! Everywhere: object key order and whitespace carry no meaning, numbers compare by value
//! (`300` == `300.0`; two integers compare exactly, by normalised text, so integers beyond
//! `f64` precision are not conflated).
//!
//! Values are compared as [`J`], a JSON tree that keeps every number as its text. That works
//! the same whether or not serde_json is built with `arbitrary_precision`, and it can hold
//! what Python's `json` module writes and reads but strict JSON cannot: `NaN`, `Infinity`,
//! `-Infinity`. [`parse_json`] reads text the way Python's `json.loads` does (so peer values
//! with `NaN` are still compared parsed, not as text); text it rejects compares as text.
//!
//! Include from a test crate with `#[path = "support/compare.rs"] mod compare;`.
#![allow(dead_code)]

use serde_json::Value;
use std::fmt;

/// The report fields compared for plain equality (after parsing; `emitted` in order).
pub const EQUAL_FIELDS: [&str; 6] = [
    "step",
    "hook",
    "outcome",
    "error",
    "emitted",
    "render_error",
];

/// Longest rendering of one value in a mismatch message, in characters.
const SHOW_MAX: usize = 400;

/// A JSON value. Numbers keep their text (`NaN` / `Infinity` / `-Infinity` included); object
/// members keep their order for display only (duplicate keys: the last value wins, as in
/// Python's `json.loads` and serde_json).
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn push_member(members: &mut Vec<(String, J)>, key: String, value: J) {
        match members.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => members.push((key, value)),
        }
    }
}

impl From<&Value> for J {
    fn from(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            // With `arbitrary_precision` this is the number's original text; without it, the
            // shortest text of the parsed i64/u64/f64. Either way `num_eq` reads it.
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(items) => J::Arr(items.iter().map(J::from).collect()),
            Value::Object(map) => {
                let mut members = Vec::with_capacity(map.len());
                for (k, v) in map {
                    J::push_member(&mut members, k.clone(), J::from(v));
                }
                J::Obj(members)
            }
        }
    }
}

impl fmt::Display for J {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            J::Null => f.write_str("null"),
            J::Bool(b) => write!(f, "{b}"),
            J::Num(n) => f.write_str(n),
            J::Str(s) => f.write_str(&quote(s)),
            J::Arr(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            J::Obj(members) => {
                f.write_str("{")?;
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {v}", quote(k))?;
                }
                f.write_str("}")
            }
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a str always serialises")
}

/// `text` cut to `SHOW_MAX` characters, saying how much was left off.
fn clip(text: String) -> String {
    let total = text.chars().count();
    if total <= SHOW_MAX {
        return text;
    }
    let head: String = text.chars().take(SHOW_MAX).collect();
    format!("{head}…(+{} chars)", total - SHOW_MAX)
}

fn show(v: Option<&J>) -> String {
    match v {
        Some(v) => clip(v.to_string()),
        None => "<absent>".to_string(),
    }
}

fn show_all(items: &[&J]) -> String {
    let list = J::Arr(items.iter().map(|j| (*j).clone()).collect());
    clip(list.to_string())
}

// ---------------------------------------------------------------------------------------------
// Paths

/// `base` extended by an object key: `.key` for identifier-like keys, `["key"]` otherwise
/// (so relation ids read `sources["3"]`).
pub fn key_path(base: &str, key: &str) -> String {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (base.is_empty(), ident) {
        (true, true) => key.to_string(),
        (false, true) => format!("{base}.{key}"),
        (_, false) => format!("{base}[{}]", quote(key)),
    }
}

fn index_path(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

// ---------------------------------------------------------------------------------------------
// Mismatches

/// One difference: where, what the corpus says, what the engine said.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub path: String,
    pub expected: String,
    pub got: String,
    pub note: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {} got {}",
            self.path, self.expected, self.got
        )?;
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

fn mismatch(out: &mut Vec<Mismatch>, path: &str, expected: Option<&J>, got: Option<&J>) {
    out.push(Mismatch {
        path: path.to_string(),
        expected: show(expected),
        got: show(got),
        note: None,
    });
}

// ---------------------------------------------------------------------------------------------
// Equality

/// The decimal text of an integer literal with sign and leading zeros normalised
/// (`-0` is `0`), or `None` when `text` is not an integer literal.
fn int_norm(text: &str) -> Option<String> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(match (digits.is_empty(), neg) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{digits}"),
        (false, false) => digits.to_string(),
    })
}

fn num_f64(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok(),
    }
}

/// Numbers by value: the same text; two integers by normalised text (exact at any size);
/// otherwise as `f64` (`300` == `300.0` == `3e2`). `NaN` equals only the text `NaN`.
pub fn num_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if let (Some(x), Some(y)) = (int_norm(a), int_norm(b)) {
        return x == y;
    }
    match (num_f64(a), num_f64(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Deep equality: objects ignore member order, arrays are ordered, numbers by value.
pub fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Null, J::Null) => true,
        (J::Bool(x), J::Bool(y)) => x == y,
        (J::Num(x), J::Num(y)) => num_eq(x, y),
        (J::Str(x), J::Str(y)) => x == y,
        (J::Arr(x), J::Arr(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (J::Obj(x), J::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && json_eq(v, v2)))
        }
        _ => false,
    }
}

/// Deep comparison that reports the innermost path that differs.
pub fn diff(path: &str, expected: &J, got: &J, out: &mut Vec<Mismatch>) {
    match (expected, got) {
        (J::Obj(e), J::Obj(g)) => {
            for (k, ev) in e {
                match got.get(k) {
                    Some(gv) => diff(&key_path(path, k), ev, gv, out),
                    None => mismatch(out, &key_path(path, k), Some(ev), None),
                }
            }
            for (k, gv) in g {
                if expected.get(k).is_none() {
                    mismatch(out, &key_path(path, k), None, Some(gv));
                }
            }
        }
        (J::Arr(e), J::Arr(g)) if e.len() == g.len() => {
            for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                diff(&index_path(path, i), ev, gv, out);
            }
        }
        _ => {
            if !json_eq(expected, got) {
                mismatch(out, path, Some(expected), Some(got));
            }
        }
    }
}

/// `expected` and `got` as multisets (order carries no meaning, multiplicity does).
pub fn diff_multiset(path: &str, expected: &[J], got: &[J], out: &mut Vec<Mismatch>) {
    let mut used = vec![false; got.len()];
    let mut missing = Vec::new();
    for e in expected {
        match (0..got.len()).find(|&i| !used[i] && json_eq(e, &got[i])) {
            Some(i) => used[i] = true,
            None => missing.push(e),
        }
    }
    let unexpected: Vec<&J> = got
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(g, _)| g)
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        return;
    }
    out.push(Mismatch {
        path: path.to_string(),
        expected: show_all(&expected.iter().collect::<Vec<_>>()),
        got: show_all(&got.iter().collect::<Vec<_>>()),
        note: Some(format!(
            "as a multiset: missing {}, unexpected {}",
            show_all(&missing),
            show_all(&unexpected)
        )),
    });
}

/// `expected` and `got` as sets (order and repetition carry no meaning).
pub fn diff_set(path: &str, expected: &[J], got: &[J], out: &mut Vec<Mismatch>) {
    let missing: Vec<&J> = expected
        .iter()
        .filter(|e| !got.iter().any(|g| json_eq(e, g)))
        .collect();
    let unexpected: Vec<&J> = got
        .iter()
        .filter(|g| !expected.iter().any(|e| json_eq(e, g)))
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        return;
    }
    out.push(Mismatch {
        path: path.to_string(),
        expected: show_all(&expected.iter().collect::<Vec<_>>()),
        got: show_all(&got.iter().collect::<Vec<_>>()),
        note: Some(format!(
            "as a set: missing {}, unexpected {}",
            show_all(&missing),
            show_all(&unexpected)
        )),
    });
}

// ---------------------------------------------------------------------------------------------
// Report fields

/// Both present: `then`; one absent: a mismatch; both absent: nothing.
fn field<'a>(
    path: &str,
    expected: Option<&'a J>,
    got: Option<&'a J>,
    out: &mut Vec<Mismatch>,
    then: impl FnOnce(&'a J, &'a J, &mut Vec<Mismatch>),
) {
    match (expected, got) {
        (None, None) => {}
        (Some(e), Some(g)) => then(e, g, out),
        (e, g) => mismatch(out, path, e, g),
    }
}

/// One parsed peer databag value, by key: `sources` (relation id -> multiset of entries) and
/// `sources_to_delete` (multiset); any other key, or a shape other than those, plain equal.
fn diff_peer_value(path: &str, key: &str, expected: &J, got: &J, out: &mut Vec<Mismatch>) {
    match (key, expected, got) {
        ("sources", J::Obj(e), J::Obj(g)) => {
            for (rel, ev) in e {
                let p = key_path(path, rel);
                match (ev, got.get(rel)) {
                    (J::Arr(el), Some(J::Arr(gl))) => diff_multiset(&p, el, gl, out),
                    (ev, Some(gv)) => diff(&p, ev, gv, out),
                    (ev, None) => mismatch(out, &p, Some(ev), None),
                }
            }
            for (rel, gv) in g {
                if expected.get(rel).is_none() {
                    mismatch(out, &key_path(path, rel), None, Some(gv));
                }
            }
        }
        ("sources_to_delete", J::Arr(e), J::Arr(g)) => diff_multiset(path, e, g, out),
        _ => diff(path, expected, got, out),
    }
}

fn diff_peer_app_data(path: &str, expected: &J, got: &J, out: &mut Vec<Mismatch>) {
    let (J::Obj(e), J::Obj(g)) = (expected, got) else {
        return diff(path, expected, got, out);
    };
    for (k, ev) in e {
        let p = key_path(path, k);
        let Some(gv) = got.get(k) else {
            mismatch(out, &p, Some(ev), None);
            continue;
        };
        let (J::Str(et), J::Str(gt)) = (ev, gv) else {
            // A databag holds strings; anything else is compared as the JSON it is.
            diff(&p, ev, gv, out);
            continue;
        };
        match (parse_json(et), parse_json(gt)) {
            (Ok(ep), Ok(gp)) => diff_peer_value(&p, k, &ep, &gp, out),
            (ep, gp) => {
                if et != gt {
                    let which = match (ep.is_err(), gp.is_err()) {
                        (true, true) => "neither value is JSON",
                        (true, false) => "the expected value is not JSON",
                        _ => "the actual value is not JSON",
                    };
                    out.push(Mismatch {
                        path: p,
                        expected: show(Some(ev)),
                        got: show(Some(gv)),
                        note: Some(format!("compared as text: {which}")),
                    });
                }
            }
        }
    }
    for (k, gv) in g {
        if expected.get(k).is_none() {
            mismatch(out, &key_path(path, k), None, Some(gv));
        }
    }
}

fn diff_datasources(path: &str, expected: &J, got: &J, out: &mut Vec<Mismatch>) {
    let (J::Obj(e), J::Obj(g)) = (expected, got) else {
        return diff(path, expected, got, out);
    };
    for (k, ev) in e {
        let p = key_path(path, k);
        match (k.as_str(), ev, got.get(k)) {
            ("datasources" | "deleteDatasources", J::Arr(el), Some(J::Arr(gl))) => {
                diff_multiset(&p, el, gl, out)
            }
            (_, ev, Some(gv)) => diff(&p, ev, gv, out),
            (_, ev, None) => mismatch(out, &p, Some(ev), None),
        }
    }
    for (k, gv) in g {
        if expected.get(k).is_none() {
            mismatch(out, &key_path(path, k), None, Some(gv));
        }
    }
}

/// Every difference between two step reports, by the README's rules.
pub fn report_mismatches(actual: &J, expected: &J) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if !matches!(actual, J::Obj(_)) || !matches!(expected, J::Obj(_)) {
        mismatch(&mut out, "<report>", Some(expected), Some(actual));
        return out;
    }
    for name in EQUAL_FIELDS {
        field(
            name,
            expected.get(name),
            actual.get(name),
            &mut out,
            |e, g, out| diff(name, e, g, out),
        );
    }
    let name = "peer_app_data";
    field(
        name,
        expected.get(name),
        actual.get(name),
        &mut out,
        |e, g, out| diff_peer_app_data(name, e, g, out),
    );
    let name = "datasources";
    field(
        name,
        expected.get(name),
        actual.get(name),
        &mut out,
        |e, g, out| diff_datasources(name, e, g, out),
    );
    let name = "violations";
    field(
        name,
        expected.get(name),
        actual.get(name),
        &mut out,
        |e, g, out| match (e, g) {
            (J::Arr(el), J::Arr(gl)) => diff_set(name, el, gl, out),
            _ => diff(name, e, g, out),
        },
    );
    out
}

/// `Ok(())` when `actual` conforms to `expected`; otherwise every mismatch, one per line,
/// each led by its field path (e.g. `peer_app_data.sources["3"]: expected [...] got [...]`).
pub fn compare_report(actual: &Value, expected: &Value) -> Result<(), String> {
    let found = report_mismatches(&J::from(actual), &J::from(expected));
    if found.is_empty() {
        Ok(())
    } else {
        Err(found
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing JSON text as Python's `json.loads` does

/// Deeper nesting than this is refused (compared as text); Python's own limit is lower.
const MAX_DEPTH: usize = 2_000;

/// Parse `text` as Python's `json.loads` (strict mode, its default) accepts it: JSON plus the
/// constants `NaN`, `Infinity`, `-Infinity`; surrounding whitespace allowed; duplicate keys
/// keep the last value. Lone surrogate escapes (which Python accepts but a Rust `String`
/// cannot hold) are refused, so such values compare as text.
pub fn parse_json(text: &str) -> Result<J, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("extra data at byte {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<J, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        match self.s.get(self.i) {
            None => self.err("expecting value"),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(_) if self.eat("null") => Ok(J::Null),
            Some(_) if self.eat("true") => Ok(J::Bool(true)),
            Some(_) if self.eat("false") => Ok(J::Bool(false)),
            Some(_) if self.eat("NaN") => Ok(J::Num("NaN".into())),
            Some(_) if self.eat("Infinity") => Ok(J::Num("Infinity".into())),
            Some(_) if self.eat("-Infinity") => Ok(J::Num("-Infinity".into())),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.err("expecting value"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, as Python's scanner; a fraction or exponent
    /// without digits is not consumed (and then fails as extra data).
    fn number(&mut self) -> Result<J, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("expecting value"),
        }
        if self.s.get(self.i) == Some(&b'.')
            && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            let save = self.i;
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                self.i = save;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
        Ok(J::Num(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let Some(h) = self.s.get(self.i..self.i + 4) else {
            return self.err("invalid \\uXXXX escape");
        };
        let h = std::str::from_utf8(h).map_err(|_| "invalid \\uXXXX escape".to_string())?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.err("invalid \\uXXXX escape");
        }
        self.i += 4;
        Ok(u32::from_str_radix(h, 16).expect("hex digits"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and we stopped on an ASCII byte: a char boundary.
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).expect("UTF-8 input"));
            match self.s.get(self.i) {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&esc) = self.s.get(self.i) else {
                        return self.err("unterminated string");
                    };
                    self.i += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c) && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                                } else {
                                    self.i = save;
                                }
                            }
                            match char::from_u32(c) {
                                Some(ch) => out.push(ch),
                                None => return self.err("lone surrogate escape"),
                            }
                        }
                        _ => return self.err("invalid escape"),
                    }
                }
                Some(_) => return self.err("invalid control character"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<J, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(J::Arr(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(J::Arr(items));
            }
            return self.err("expecting ',' or ']'");
        }
    }

    fn object(&mut self, depth: usize) -> Result<J, String> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.eat("}") {
            return Ok(J::Obj(members));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return self.err("expecting property name");
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return self.err("expecting ':'");
            }
            self.ws();
            let value = self.value(depth + 1)?;
            J::push_member(&mut members, key, value);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(J::Obj(members));
            }
            return self.err("expecting ',' or '}'");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The comparator's own tests (they run in every test crate that includes this file).

#[cfg(test)]
mod compare_tests {
    use super::*;
    use serde_json::json;

    /// A report with two relations' sources, two deletions and two datasources.
    fn base() -> Value {
        let sources = r#"{"3": [{"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.1:9090"}, {"unit": "prometheus/1", "source_name": "p_1", "source_type": "prometheus", "url": "http://10.0.0.2:9090"}], "4": [{"unit": "loki/0", "source_name": "l_0", "source_type": "loki", "url": "http://10.0.0.3:3100", "extra_fields": {"timeout": 300}}]}"#;
        json!({
            "step": 4, "hook": "grafana-source-relation-changed", "outcome": "ok",
            "emitted": ["sources_changed", "sources_to_delete_changed"],
            "peer_app_data": {"sources": sources, "sources_to_delete": "[\"a\", \"b\", \"a\"]"},
            "datasources": {"apiVersion": 1,
                "datasources": [
                    {"orgId": "1", "access": "proxy", "isDefault": "false", "name": "p_0", "type": "prometheus", "url": "http://10.0.0.1:9090", "jsonData": {"timeout": 300}},
                    {"orgId": "1", "access": "proxy", "isDefault": "false", "name": "p_1", "type": "prometheus", "url": "http://10.0.0.2:9090", "jsonData": {"timeout": 300}}],
                "deleteDatasources": [{"orgId": 1, "name": "a"}, {"orgId": 1, "name": "b"}]},
            "violations": ["hook-failed", "delete-overlap"]
        })
    }

    fn with(mut v: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        f(v.as_object_mut().unwrap());
        v
    }

    fn set_peer(v: Value, key: &str, text: &str) -> Value {
        with(v, |o| {
            o["peer_app_data"][key] = Value::String(text.to_string());
        })
    }

    #[track_caller]
    fn fails_at(actual: &Value, expected: &Value, path_prefix: &str) -> String {
        let err = compare_report(actual, expected).expect_err("a mismatch");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("{path_prefix}: "))),
            "expected a mismatch at `{path_prefix}`, got:\n{err}"
        );
        err
    }

    #[test]
    fn identical_reports_pass() {
        assert_eq!(compare_report(&base(), &base()), Ok(()));
    }

    #[test]
    fn extra_fields_carry_no_meaning() {
        let actual = with(base(), |o| {
            o.insert("debug".into(), json!({"anything": [1, 2]}));
        });
        assert_eq!(compare_report(&actual, &base()), Ok(()));
        assert_eq!(compare_report(&base(), &actual), Ok(()));
    }

    #[test]
    fn report_key_order_carries_no_meaning() {
        fn reversed(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .rev()
                        .map(|(k, v)| (k.clone(), reversed(v)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
                other => other.clone(),
            }
        }
        let r = reversed(&base());
        assert_eq!(
            r.as_object().unwrap().keys().next().map(String::as_str),
            Some("violations")
        );
        assert_eq!(compare_report(&r, &base()), Ok(()));
    }

    #[test]
    fn plain_fields_must_be_equal() {
        fails_at(&with(base(), |o| o["step"] = json!(5)), &base(), "step");
        fails_at(
            &with(base(), |o| o["hook"] = json!("upgrade-charm")),
            &base(),
            "hook",
        );
        fails_at(
            &with(base(), |o| o["outcome"] = json!("error")),
            &base(),
            "outcome",
        );
        assert_eq!(
            compare_report(&with(base(), |o| o["step"] = json!(4.0)), &base()),
            Ok(())
        );
    }

    #[test]
    fn emitted_is_ordered() {
        let swapped = with(base(), |o| {
            o["emitted"] = json!(["sources_to_delete_changed", "sources_changed"])
        });
        fails_at(&swapped, &base(), "emitted[0]");
        let shorter = with(base(), |o| o["emitted"] = json!(["sources_changed"]));
        fails_at(&shorter, &base(), "emitted");
    }

    #[test]
    fn absent_is_not_null() {
        let null_error = with(base(), |o| {
            o.insert("error".into(), Value::Null);
        });
        let err = fails_at(&null_error, &base(), "error");
        assert!(err.contains("expected <absent> got null"), "{err}");
        let err = fails_at(&base(), &null_error, "error");
        assert!(err.contains("expected null got <absent>"), "{err}");
        assert_eq!(compare_report(&null_error, &null_error), Ok(()));
    }

    #[test]
    fn error_and_render_error_compare_exactly() {
        let e = with(base(), |o| {
            o.insert("outcome".into(), json!("error"));
            o.insert("error".into(), json!("KeyError"));
        });
        assert_eq!(compare_report(&e, &e), Ok(()));
        fails_at(
            &with(e.clone(), |o| o["error"] = json!("IndexError")),
            &e,
            "error",
        );
        let r = with(base(), |o| {
            o.insert("render_error".into(), json!("AttributeError"));
            o["datasources"] = Value::Null;
        });
        assert_eq!(compare_report(&r, &r), Ok(()));
        fails_at(&base(), &r, "render_error");
        fails_at(
            &with(r.clone(), |o| o["render_error"] = json!("TypeError")),
            &r,
            "render_error",
        );
    }

    #[test]
    fn top_level_fields_missing_on_one_side_fail() {
        for name in [
            "peer_app_data",
            "datasources",
            "violations",
            "emitted",
            "step",
        ] {
            let without = with(base(), |o| {
                o.remove(name);
            });
            fails_at(&without, &base(), name);
            fails_at(&base(), &without, name);
        }
    }

    #[test]
    fn source_list_order_within_a_relation_is_free() {
        let reordered = r#"{"4": [{"url": "http://10.0.0.3:3100", "unit": "loki/0", "source_name": "l_0", "source_type": "loki", "extra_fields": {"timeout": 300.0}}],
            "3": [{"unit": "prometheus/1", "source_name": "p_1", "source_type": "prometheus", "url": "http://10.0.0.2:9090"},
                  {"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.1:9090"}]}"#;
        assert_eq!(
            compare_report(&set_peer(base(), "sources", reordered), &base()),
            Ok(())
        );
    }

    #[test]
    fn changed_source_names_the_relation() {
        let changed = r#"{"3": [{"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.9:9090"}, {"unit": "prometheus/1", "source_name": "p_1", "source_type": "prometheus", "url": "http://10.0.0.2:9090"}], "4": [{"unit": "loki/0", "source_name": "l_0", "source_type": "loki", "url": "http://10.0.0.3:3100", "extra_fields": {"timeout": 300}}]}"#;
        let err = fails_at(
            &set_peer(base(), "sources", changed),
            &base(),
            r#"peer_app_data.sources["3"]"#,
        );
        assert!(err.contains("10.0.0.9"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn sources_lists_are_multisets_not_sets() {
        let doubled = r#"{"3": [{"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.1:9090"}, {"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.1:9090"}, {"unit": "prometheus/1", "source_name": "p_1", "source_type": "prometheus", "url": "http://10.0.0.2:9090"}], "4": [{"unit": "loki/0", "source_name": "l_0", "source_type": "loki", "url": "http://10.0.0.3:3100", "extra_fields": {"timeout": 300}}]}"#;
        fails_at(
            &set_peer(base(), "sources", doubled),
            &base(),
            r#"peer_app_data.sources["3"]"#,
        );
    }

    #[test]
    fn relation_ids_missing_or_extra_are_named() {
        let only3 = r#"{"3": [{"unit": "prometheus/0", "source_name": "p_0", "source_type": "prometheus", "url": "http://10.0.0.1:9090"}, {"unit": "prometheus/1", "source_name": "p_1", "source_type": "prometheus", "url": "http://10.0.0.2:9090"}]}"#;
        let err = fails_at(
            &set_peer(base(), "sources", only3),
            &base(),
            r#"peer_app_data.sources["4"]"#,
        );
        assert!(err.contains("got <absent>"), "{err}");
        let err = fails_at(
            &base(),
            &set_peer(base(), "sources", only3),
            r#"peer_app_data.sources["4"]"#,
        );
        assert!(err.contains("expected <absent>"), "{err}");
    }

    #[test]
    fn relation_order_in_sources_is_positional_inside_entries() {
        // Inside one source entry, ordinary JSON rules: a changed nested value names its path.
        let e = set_peer(base(), "sources", r#"{"3": {"k": [1, 2]}}"#);
        let a = set_peer(base(), "sources", r#"{"3": {"k": [2, 1]}}"#);
        fails_at(&a, &e, r#"peer_app_data.sources["3"].k[0]"#);
    }

    #[test]
    fn sources_to_delete_is_a_multiset() {
        let reordered = set_peer(base(), "sources_to_delete", r#"["b","a","a"]"#);
        assert_eq!(compare_report(&reordered, &base()), Ok(()));
        let fewer = set_peer(base(), "sources_to_delete", r#"["a", "b"]"#);
        let err = fails_at(&fewer, &base(), "peer_app_data.sources_to_delete");
        assert!(err.contains(r#"missing ["a"]"#), "{err}");
    }

    #[test]
    fn peer_text_whitespace_and_key_order_carry_no_meaning() {
        let e = set_peer(
            base(),
            "sources",
            r#"{"3": [{"a": 1, "b": {"c": [true, null]}}]}"#,
        );
        let a = set_peer(
            base(),
            "sources",
            "  {\n\"3\":[ {\"b\":{\"c\":[true,null]},\"a\":1.0}] }\t",
        );
        assert_eq!(compare_report(&a, &e), Ok(()));
    }

    #[test]
    fn peer_keys_must_match() {
        let without = with(base(), |o| {
            o["peer_app_data"]
                .as_object_mut()
                .unwrap()
                .remove("sources_to_delete");
        });
        let err = fails_at(&without, &base(), "peer_app_data.sources_to_delete");
        assert!(err.contains("got <absent>"), "{err}");
        let extra = set_peer(base(), "other key", "1");
        fails_at(&extra, &base(), r#"peer_app_data["other key"]"#);
        let empty = with(base(), |o| o["peer_app_data"] = json!({}));
        assert_eq!(compare_report(&empty, &empty), Ok(()));
    }

    #[test]
    fn peer_values_of_other_shapes_compare_as_parsed_json() {
        // The corpus has `sources` as a list and `sources_to_delete` as a string or number.
        let e = set_peer(
            set_peer(base(), "sources", "[]"),
            "sources_to_delete",
            "\"abc\"",
        );
        let a = set_peer(
            set_peer(base(), "sources", " [ ] "),
            "sources_to_delete",
            "\"abc\"",
        );
        assert_eq!(compare_report(&a, &e), Ok(()));
        let a2 = set_peer(e.clone(), "sources_to_delete", "\"abd\"");
        fails_at(&a2, &e, "peer_app_data.sources_to_delete");
        let n = set_peer(base(), "sources_to_delete", "7");
        assert_eq!(
            compare_report(&set_peer(base(), "sources_to_delete", "7.0"), &n),
            Ok(())
        );
        // A relation whose value is not a list: plain equality, with a path.
        let d = set_peer(base(), "sources", r#"{"3": {"k": 1}}"#);
        assert_eq!(
            compare_report(&set_peer(base(), "sources", r#"{"3":{"k":1.0}}"#), &d),
            Ok(())
        );
        fails_at(
            &set_peer(base(), "sources", r#"{"3": {"k": 2}}"#),
            &d,
            r#"peer_app_data.sources["3"].k"#,
        );
    }

    #[test]
    fn invalid_peer_json_compares_as_text() {
        let e = set_peer(base(), "sources", "not json");
        assert_eq!(compare_report(&e, &e), Ok(()));
        let err = fails_at(
            &set_peer(base(), "sources", "not  json"),
            &e,
            "peer_app_data.sources",
        );
        assert!(err.contains("compared as text"), "{err}");
        // Valid on one side only: a mismatch, even if it looks alike.
        fails_at(
            &set_peer(base(), "sources", "{}"),
            &set_peer(base(), "sources", "{} x"),
            "peer_app_data.sources",
        );
        // Trailing garbage makes it text: no reordering leniency then.
        let t1 = set_peer(base(), "sources_to_delete", r#"["a", "b"] x"#);
        let t2 = set_peer(base(), "sources_to_delete", r#"["b", "a"] x"#);
        fails_at(&t2, &t1, "peer_app_data.sources_to_delete");
    }

    #[test]
    fn python_nan_and_infinity_in_peer_values_are_parsed() {
        let e = set_peer(
            base(),
            "sources",
            r#"{"3": [{"x": NaN, "y": Infinity}, {"z": -Infinity}]}"#,
        );
        let a = set_peer(
            base(),
            "sources",
            r#"{"3": [{"z": -Infinity}, {"y": Infinity, "x": NaN}]}"#,
        );
        assert_eq!(compare_report(&a, &e), Ok(()));
        let b = set_peer(
            base(),
            "sources",
            r#"{"3": [{"z": -Infinity}, {"y": Infinity, "x": Infinity}]}"#,
        );
        fails_at(&b, &e, r#"peer_app_data.sources["3"]"#);
        // Python reads 1e400 as inf and writes it back as Infinity.
        assert!(num_eq("1e400", "Infinity"));
        assert!(!num_eq("NaN", "Infinity"));
    }

    #[test]
    fn numbers_compare_by_value() {
        let e = base();
        let a = with(base(), |o| {
            o["datasources"]["datasources"][0]["jsonData"]["timeout"] = json!(300.0);
            o["datasources"]["apiVersion"] = json!(1.0);
        });
        assert_eq!(compare_report(&a, &e), Ok(()));
        let changed = with(base(), |o| {
            o["datasources"]["datasources"][1]["jsonData"]["timeout"] = json!(301)
        });
        fails_at(&changed, &e, "datasources.datasources");
        assert!(num_eq("300", "300.0"));
        assert!(num_eq("300", "3e2"));
        assert!(num_eq("-0", "0"));
        assert!(num_eq("0.1", "0.10000000000000001"));
        assert!(!num_eq("300", "301"));
        // Integers beyond f64 precision compare exactly.
        assert!(!num_eq(
            "123456789012345678901234567890",
            "123456789012345678901234567891"
        ));
        assert!(num_eq(
            "123456789012345678901234567890",
            "123456789012345678901234567890"
        ));
        // And through the parser (independent of serde_json's arbitrary_precision).
        let x = parse_json("[123456789012345678901234567890]").unwrap();
        let y = parse_json("[123456789012345678901234567891]").unwrap();
        assert!(!json_eq(&x, &y));
        // A number is not a string or a bool.
        assert!(!json_eq(
            &parse_json("1").unwrap(),
            &parse_json("\"1\"").unwrap()
        ));
        assert!(!json_eq(
            &parse_json("1").unwrap(),
            &parse_json("true").unwrap()
        ));
    }

    #[test]
    fn numbers_in_peer_text_compare_by_value() {
        let e = set_peer(
            base(),
            "sources",
            r#"{"4": [{"extra_fields": {"timeout": 300}}]}"#,
        );
        let a = set_peer(
            base(),
            "sources",
            r#"{"4": [{"extra_fields": {"timeout": 300.0}}]}"#,
        );
        assert_eq!(compare_report(&a, &e), Ok(()));
        let b = set_peer(
            base(),
            "sources",
            r#"{"4": [{"extra_fields": {"timeout": "300"}}]}"#,
        );
        fails_at(&b, &e, r#"peer_app_data.sources["4"]"#);
    }

    #[test]
    fn datasources_entries_are_multisets() {
        let e = base();
        let a = with(base(), |o| {
            o["datasources"]["datasources"]
                .as_array_mut()
                .unwrap()
                .reverse();
            o["datasources"]["deleteDatasources"]
                .as_array_mut()
                .unwrap()
                .reverse();
        });
        assert_eq!(compare_report(&a, &e), Ok(()));
        let dup = with(base(), |o| {
            let first = o["datasources"]["deleteDatasources"][0].clone();
            o["datasources"]["deleteDatasources"]
                .as_array_mut()
                .unwrap()
                .push(first);
        });
        let err = fails_at(&dup, &e, "datasources.deleteDatasources");
        assert!(
            err.contains("unexpected [{\"orgId\": 1, \"name\": \"a\"}]"),
            "{err}"
        );
        let org = with(base(), |o| {
            o["datasources"]["deleteDatasources"][1]["orgId"] = json!("1")
        });
        fails_at(&org, &e, "datasources.deleteDatasources");
    }

    #[test]
    fn datasources_other_keys_are_equal() {
        let e = base();
        fails_at(
            &with(base(), |o| o["datasources"]["apiVersion"] = json!(2)),
            &e,
            "datasources.apiVersion",
        );
        let extra = with(base(), |o| o["datasources"]["extra"] = json!(true));
        fails_at(&extra, &e, "datasources.extra");
        let null = with(base(), |o| o["datasources"] = Value::Null);
        fails_at(&null, &e, "datasources");
        assert_eq!(compare_report(&null, &null), Ok(()));
        // Within one datasource, key order carries no meaning.
        let ds: Value = serde_json::from_str(
            r#"{"jsonData": {"timeout": 300}, "url": "http://10.0.0.1:9090", "type": "prometheus", "name": "p_0", "isDefault": "false", "access": "proxy", "orgId": "1"}"#,
        )
        .unwrap();
        let reordered = with(base(), |o| o["datasources"]["datasources"][0] = ds);
        assert_eq!(compare_report(&reordered, &e), Ok(()));
    }

    #[test]
    fn violations_are_a_set() {
        let e = base();
        let a = with(base(), |o| {
            o["violations"] = json!(["delete-overlap", "hook-failed", "delete-overlap"])
        });
        assert_eq!(compare_report(&a, &e), Ok(()));
        let fewer = with(base(), |o| o["violations"] = json!(["delete-overlap"]));
        let err = fails_at(&fewer, &e, "violations");
        assert!(err.contains(r#"missing ["hook-failed"]"#), "{err}");
        let more = with(base(), |o| {
            o["violations"] = json!(["delete-overlap", "hook-failed", "stale-datasource"])
        });
        let err = fails_at(&more, &e, "violations");
        assert!(err.contains(r#"unexpected ["stale-datasource"]"#), "{err}");
    }

    #[test]
    fn every_mismatch_is_reported() {
        let a = with(base(), |o| {
            o["step"] = json!(9);
            o["violations"] = json!([]);
            o["datasources"]["apiVersion"] = json!(2);
        });
        let err = compare_report(&a, &base()).unwrap_err();
        assert_eq!(err.lines().count(), 3, "{err}");
    }

    #[test]
    fn non_object_reports_fail() {
        fails_at(&json!([]), &base(), "<report>");
    }

    #[test]
    fn long_values_are_clipped_in_messages() {
        let long = "x".repeat(10_000);
        let a = with(base(), |o| o["hook"] = json!(long));
        let err = compare_report(&a, &base()).unwrap_err();
        assert!(err.len() < 1_000, "{} chars", err.len());
        assert!(err.contains("chars)"), "{err}");
    }

    #[test]
    fn paths_quote_non_identifier_keys() {
        assert_eq!(
            key_path("peer_app_data", "sources"),
            "peer_app_data.sources"
        );
        assert_eq!(
            key_path("peer_app_data.sources", "3"),
            r#"peer_app_data.sources["3"]"#
        );
        assert_eq!(key_path("x", "a b"), r#"x["a b"]"#);
        assert_eq!(key_path("x", "a\"b"), r#"x["a\"b"]"#);
        assert_eq!(key_path("", "step"), "step");
    }

    #[test]
    fn parser_follows_python_json_loads() {
        for ok in [
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "1.5e3",
            "1E-2",
            "\"\\u00e9\\ud83d\\ude00\\/\"",
            "[]",
            "{}",
            "[1, [2, {\"a\": {}}]]",
            "NaN",
            "-Infinity",
            "{\"a\": 1, \"a\": 2}",
        ] {
            assert!(parse_json(ok).is_ok(), "should parse: {ok}");
        }
        for bad in [
            "",
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{a: 1}",
            "'a'",
            "nan",
            "inf",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "[1] 2",
            "\"abc",
            "tru",
            "-",
        ] {
            assert!(parse_json(bad).is_err(), "should not parse: {bad:?}");
        }
        assert_eq!(
            parse_json("\"\\ud83d\\ude00\"").unwrap().to_string(),
            "\"😀\""
        );
        // Duplicate keys: the last value wins, as in Python.
        let d = parse_json(r#"{"a": 1, "a": 2}"#).unwrap();
        assert!(json_eq(&d, &parse_json(r#"{"a": 2}"#).unwrap()));
        // Deep nesting within the limit parses; beyond it, the value is compared as text.
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_json(&deep).is_ok());
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert!(parse_json(&deeper).is_err());
    }

    #[test]
    fn values_from_serde_and_from_the_parser_agree() {
        let text = serde_json::to_string(&base()).unwrap();
        let parsed = parse_json(&text).unwrap();
        assert!(report_mismatches(&parsed, &J::from(&base())).is_empty());
    }
}
