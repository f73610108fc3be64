//! `json.loads` and `json.dumps` with Python's defaults, byte for byte.
//!
//! **Lone surrogates.** Python strings may hold a lone surrogate (`json.loads('"\\ud800"')`
//! succeeds), a Rust `str` cannot. [`loads`] therefore stores a lone surrogate U+D800..U+DFFF
//! as the private-use char U+100000 + (cp − 0xD800) (Supplementary Private Use Area-B,
//! U+100000..U+1007FF), and [`dumps`] (like `repr` in [`PyValue::py_repr`]) writes such a char
//! back as the lone `\udXXX` escape. The one inexactness: a *genuine* U+100000..U+1007FF in
//! the input is written back as a lone surrogate escape instead of a surrogate pair.
use super::value::{number_from_text, INT_MAX_STR_DIGITS};
use super::{text, PyDict, PyExc, PyKey, PyValue};
use std::sync::Arc;

/// How many arrays/objects [`loads`] nests before `RecursionError`.
///
/// CPython checks its recursion limit (default 1000) when it enters each array or object, and
/// counts the interpreter frames already on the stack, so the real threshold is a little lower
/// and depends on the caller (3.11.7 from a top-level script: 995 levels load, 996 raise;
/// 3.12 counts C recursion separately). The model takes the nominal limit.
pub const MAX_DEPTH: usize = 1000;

/// Python's `json.loads(text)`.
///
/// - whitespace around tokens: ' ', '\t', '\n', '\r' only; literals `true`, `false`, `null`,
///   `NaN`, `Infinity`, `-Infinity`;
/// - numbers `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`: without fraction and exponent an `int`
///   of any size (more than 4300 digits → `ValueError`), otherwise a correctly rounded
///   `float` (overflow → `inf`);
/// - strings: raw control chars (< U+0020) rejected; escapes `\" \\ \/ \b \f \n \r \t \uXXXX`;
///   an escaped surrogate pair combines, a lone one is kept (see the module doc);
/// - objects: a repeated key keeps its first position and takes the last value;
/// - nesting deeper than [`MAX_DEPTH`] → `RecursionError` (the parser itself is iterative);
/// - any syntax error, empty input or trailing data → `JSONDecodeError`.
///
/// Errors are found left to right, as CPython does, so the first problem decides the class.
pub fn loads(text: &str) -> Result<PyValue, PyExc> {
    enum Frame {
        List(Vec<PyValue>),
        Dict(PyDict, Arc<str>),
    }
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    let mut stack: Vec<Frame> = Vec::new();
    'value: loop {
        p.ws();
        let mut value = match p.peek() {
            Some(open @ (b'[' | b'{')) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(PyExc::RecursionError);
                }
                p.i += 1;
                p.ws();
                if open == b'[' {
                    if p.eat(b']') {
                        PyValue::List(Vec::new())
                    } else {
                        stack.push(Frame::List(Vec::new()));
                        continue 'value;
                    }
                } else if p.eat(b'}') {
                    PyValue::dict(PyDict::default())
                } else {
                    let key = p.key()?;
                    stack.push(Frame::Dict(PyDict::default(), key));
                    continue 'value;
                }
            }
            _ => p.scalar()?,
        };
        // Hand the finished value to the enclosing containers, closing those that end here.
        loop {
            match stack.last_mut() {
                None => {
                    p.ws();
                    return if p.i == p.b.len() {
                        Ok(value)
                    } else {
                        Err(PyExc::JSONDecodeError)
                    };
                }
                Some(Frame::List(items)) => {
                    items.push(value);
                    p.ws();
                    match p.bump() {
                        Some(b',') => continue 'value,
                        Some(b']') => {}
                        _ => return Err(PyExc::JSONDecodeError),
                    }
                }
                Some(Frame::Dict(map, key)) => {
                    map.insert(PyKey::Str(key.clone()), value);
                    p.ws();
                    match p.bump() {
                        Some(b',') => {
                            p.ws();
                            *key = p.key()?;
                            continue 'value;
                        }
                        Some(b'}') => {}
                        _ => return Err(PyExc::JSONDecodeError),
                    }
                }
            }
            value = match stack.pop() {
                Some(Frame::List(items)) => PyValue::List(items),
                Some(Frame::Dict(map, _)) => PyValue::dict(map),
                None => return Err(PyExc::JSONDecodeError), // unreachable: the stack had a top
            };
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &str, value: PyValue) -> Result<PyValue, PyExc> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(PyExc::JSONDecodeError)
        }
    }

    /// An object key and its `:`, the parser being at the key's opening quote.
    fn key(&mut self) -> Result<Arc<str>, PyExc> {
        if self.peek() != Some(b'"') {
            return Err(PyExc::JSONDecodeError);
        }
        let key = self.string()?;
        self.ws();
        if !self.eat(b':') {
            return Err(PyExc::JSONDecodeError);
        }
        Ok(key)
    }

    fn scalar(&mut self) -> Result<PyValue, PyExc> {
        match self.peek() {
            Some(b'"') => Ok(PyValue::Str(self.string()?)),
            Some(b'n') => self.literal("null", PyValue::None),
            Some(b't') => self.literal("true", PyValue::Bool(true)),
            Some(b'f') => self.literal("false", PyValue::Bool(false)),
            Some(b'N') => self.literal("NaN", PyValue::Float(f64::NAN)),
            Some(b'I') => self.literal("Infinity", PyValue::Float(f64::INFINITY)),
            Some(b'-') if self.b.get(self.i + 1) == Some(&b'I') => {
                self.literal("-Infinity", PyValue::Float(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(PyExc::JSONDecodeError),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// CPython's `_match_number_unicode`: a fraction needs a digit after `.` and an exponent
    /// a digit after `e[+-]`, else the number ends before them (and what follows is an error).
    fn number(&mut self) -> Result<PyValue, PyExc> {
        let start = self.i;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(PyExc::JSONDecodeError),
        }
        if self.peek() == Some(b'.') && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let mark = self.i;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                self.i = mark;
            }
        }
        number_from_text(&self.s[start..self.i], INT_MAX_STR_DIGITS)
    }

    fn hex4(&mut self) -> Result<u32, PyExc> {
        let hex = self
            .b
            .get(self.i..self.i + 4)
            .ok_or(PyExc::JSONDecodeError)?;
        let mut cp = 0;
        for &h in hex {
            cp = cp * 16 + char::from(h).to_digit(16).ok_or(PyExc::JSONDecodeError)?;
        }
        self.i += 4;
        Ok(cp)
    }

    /// A string, the parser being at its opening quote (CPython's strict `scanstring`).
    fn string(&mut self) -> Result<Arc<str>, PyExc> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            // The run stops at an ASCII byte or the end, so it is whole chars.
            out.push_str(&self.s[run..self.i]);
            match self.bump() {
                Some(b'"') => return Ok(out.into()),
                Some(b'\\') => {}
                _ => return Err(PyExc::JSONDecodeError), // unterminated or raw control char
            }
            let c = match self.bump() {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\x08',
                Some(b'f') => '\x0c',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let mut cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp) && self.b[self.i..].starts_with(b"\\u") {
                        let mark = self.i;
                        self.i += 2;
                        match self.hex4() {
                            Ok(low @ 0xDC00..=0xDFFF) => {
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                            }
                            // Not a low surrogate: the escape is read again on its own.
                            _ => self.i = mark,
                        }
                    }
                    match char::from_u32(cp) {
                        Some(c) => c,
                        None => text::char_for_surrogate(cp),
                    }
                }
                _ => return Err(PyExc::JSONDecodeError),
            };
            out.push(c);
        }
    }
}

/// Python's `json.dumps(value)` with default arguments.
///
/// Separators `", "` and `": "`; `ensure_ascii`: printable ASCII as is, `\"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, every other char as lowercase `\uXXXX` (a surrogate pair above
/// U+FFFF; a lone-surrogate stand-in as its `\udXXX`, see the module doc); floats as
/// `repr(float)` with `NaN`, `Infinity`, `-Infinity`; an `int` dict key as its decimal string.
///
/// Where CPython would raise instead (a value nested past its recursion limit, an int of more
/// than 4300 digits, neither of which `loads` returns), this still writes the text.
pub fn dumps(value: &PyValue) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

pub(crate) fn write_value(out: &mut String, value: &PyValue) {
    match value {
        PyValue::None => out.push_str("null"),
        PyValue::Bool(true) => out.push_str("true"),
        PyValue::Bool(false) => out.push_str("false"),
        PyValue::Int(i) => out.push_str(&i.to_string()),
        PyValue::Float(f) => text::write_float(out, *f, "NaN", "Infinity"),
        PyValue::Str(s) => write_str(out, s),
        PyValue::List(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        PyValue::Dict(d) => {
            out.push('{');
            for (n, (k, item)) in d.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                match k {
                    PyKey::Str(s) => write_str(out, s),
                    PyKey::Int(i) => {
                        out.push('"');
                        out.push_str(&i.to_string());
                        out.push('"');
                    }
                }
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// CPython's `encode_basestring_ascii`.
pub(crate) fn write_str(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    // Printable ASCII other than `"` and `\` is copied in runs; everything else is escaped.
    let mut run = 0;
    for (i, c) in s.char_indices() {
        if matches!(c, ' '..='~') && c != '"' && c != '\\' {
            continue;
        }
        out.push_str(&s[run..i]);
        run = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c => {
                if let Some(sur) = text::surrogate_of(c) {
                    let _ = write!(out, "\\u{sur:04x}");
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{unit:04x}");
                    }
                }
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::cpython_cases;
    use crate::py::{PyInt, PyKey};

    fn roundtrip(input: &str) -> String {
        match loads(input) {
            Ok(v) => dumps(&v),
            Err(e) => e.name().to_owned(),
        }
    }

    /// Reads Python's `float.hex()` text back into the double.
    fn from_hex(text: &str) -> f64 {
        let (neg, body) = text.strip_prefix('-').map_or((false, text), |b| (true, b));
        let x = match body {
            "inf" => f64::INFINITY,
            "nan" => f64::NAN,
            _ => {
                let body = body.strip_prefix("0x").unwrap();
                let (mant, exp) = body.split_once('p').unwrap();
                let (lead, frac) = mant.split_once('.').unwrap_or((mant, "0"));
                let frac_bits = u64::from_str_radix(&format!("{frac:0<13}"), 16).unwrap();
                let exp: i64 = exp.parse().unwrap();
                if lead == "1" {
                    f64::from_bits((((exp + 1023) as u64) << 52) | frac_bits)
                } else {
                    f64::from_bits(frac_bits)
                }
            }
        };
        if neg {
            -x
        } else {
            x
        }
    }

    #[test]
    fn loads_then_dumps_matches_cpython() {
        for (input, want) in cpython_cases::JSON {
            assert_eq!(roundtrip(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn long_inputs_match_cpython() {
        // Expected classes from python3 3.11.7 (these inputs exceed the generated table).
        let ones = "1".repeat(4300);
        assert_eq!(roundtrip(&ones), ones);
        assert_eq!(roundtrip(&format!("-{ones}")), format!("-{ones}"));
        assert_eq!(roundtrip(&format!("{ones}1")), "ValueError");
        assert_eq!(roundtrip(&format!("-{ones}1")), "ValueError");
        assert_eq!(roundtrip(&format!("{ones}x")), "JSONDecodeError");
        assert_eq!(
            roundtrip(&format!("[{}, ]", "1".repeat(5000))),
            "ValueError"
        );
        assert_eq!(
            roundtrip(&format!("{{\"a\": {}", "9".repeat(4301))),
            "ValueError"
        );
        assert_eq!(
            roundtrip(&format!("0.{}", "1".repeat(5000))),
            "0.1111111111111111"
        );
        assert_eq!(
            roundtrip(&format!("[{}1]", "1, ".repeat(5000))).len(),
            5000 * 3 + 3
        );
    }

    #[test]
    fn nesting_limit() {
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(roundtrip(&nest(MAX_DEPTH)), nest(MAX_DEPTH));
        assert_eq!(roundtrip(&nest(MAX_DEPTH + 1)), "RecursionError");
        let objs = format!("{}1{}", "{\"a\": ".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(roundtrip(&objs), objs);
        let objs = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(roundtrip(&objs), "RecursionError");
        // The limit is met before a later syntax error; an earlier one comes first.
        assert_eq!(
            roundtrip(&format!("{}x", "[".repeat(5000))),
            "RecursionError"
        );
        assert_eq!(
            roundtrip(&format!("[x{}", "[".repeat(5000))),
            "JSONDecodeError"
        );
        assert_eq!(roundtrip(&"[".repeat(1_000_000)), "RecursionError");
        assert_eq!(
            roundtrip(&format!("{}x", "[".repeat(MAX_DEPTH))),
            "JSONDecodeError"
        );
    }

    #[test]
    fn float_dumps_matches_cpython() {
        for (hex, want) in cpython_cases::FLOATS {
            let x = from_hex(hex);
            assert_eq!(dumps(&PyValue::Float(x)), *want, "{hex}");
            // and json.loads reads the text back to the same double
            match loads(want) {
                Ok(PyValue::Float(y)) => assert!(y.to_bits() == x.to_bits() || x.is_nan()),
                other => panic!("{want}: {other:?}"),
            }
        }
    }

    #[test]
    fn loads_values() {
        let v = loads(r#"{"b": 1, "a": 2, "b": 3}"#).unwrap();
        let PyValue::Dict(d) = &v else { panic!() };
        let keys: Vec<_> = d.keys().cloned().collect();
        assert_eq!(keys, [PyKey::Str("b".into()), PyKey::Str("a".into())]);
        assert!(matches!(
            d.get_index(0).unwrap().1,
            PyValue::Int(PyInt::Small(3))
        ));
        assert!(matches!(loads("-0"), Ok(PyValue::Int(PyInt::Small(0)))));
        assert!(matches!(loads("-0.0"), Ok(PyValue::Float(x)) if x == 0.0 && x.is_sign_negative()));
        assert!(matches!(
            loads("9223372036854775807"),
            Ok(PyValue::Int(PyInt::Small(i64::MAX)))
        ));
        assert!(matches!(
            loads("-9223372036854775808"),
            Ok(PyValue::Int(PyInt::Small(i64::MIN)))
        ));
        match loads("9223372036854775808") {
            Ok(PyValue::Int(PyInt::Big(t))) => assert_eq!(&*t, "9223372036854775808"),
            other => panic!("{other:?}"),
        }
        // A lone surrogate is held as its private-use stand-in.
        match loads(r#""\ud800x\udfff""#) {
            Ok(PyValue::Str(s)) => assert_eq!(&*s, "\u{100000}x\u{1007ff}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dumps_values_loads_cannot_make() {
        let mut d = PyDict::default();
        d.insert(PyKey::Int(-5), PyValue::Str("\u{1F4C8}\u{100123}".into()));
        d.insert(PyKey::Str("1".into()), PyValue::List(vec![]));
        d.insert(PyKey::Int(1), PyValue::dict(PyDict::default()));
        // python3: json.dumps({-5: "\U0001F4C8\ud923", "1": [], 1: {}})
        assert_eq!(
            dumps(&PyValue::dict(d)),
            r#"{"-5": "\ud83d\udcc8\ud923", "1": [], "1": {}}"#
        );
        assert_eq!(
            dumps(&PyValue::Int(PyInt::Big("-123456789012345678901".into()))),
            "-123456789012345678901"
        );
        assert_eq!(
            dumps(&PyValue::Str("\u{7f}\u{ff}\u{ffff}\u{10000}".into())),
            r#""\u007f\u00ff\uffff\ud800\udc00""#
        );
    }

    /// A small deterministic generator of values, for round-trip properties.
    fn gen(seed: &mut u64, depth: u32) -> PyValue {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = *seed >> 33;
        let pick = if depth == 0 { r % 6 } else { r % 8 };
        match pick {
            0 => PyValue::None,
            1 => PyValue::Bool(r & 64 == 0),
            2 => PyValue::Int(if r & 128 == 0 {
                PyInt::Small((r as i64) - (1 << 30))
            } else {
                PyInt::parse_decimal(&format!("-{r}{r}{r}{r}")).unwrap()
            }),
            3 => PyValue::Float(f64::from_bits(seed.rotate_left(17))),
            4 => PyValue::Float([0.1, -0.0, 1e16, 1e-5, f64::INFINITY, f64::NAN][(r % 6) as usize]),
            5 => {
                let chars = [
                    'a',
                    '"',
                    '\\',
                    '\n',
                    '\u{1}',
                    '\u{7f}',
                    'é',
                    '\u{2028}',
                    '📈',
                    '\u{100abc}',
                    '/',
                ];
                let n = (r % 7) as usize;
                PyValue::Str(
                    (0..n)
                        .map(|k| chars[(r as usize / (k + 1)) % chars.len()])
                        .collect::<String>()
                        .into(),
                )
            }
            6 => PyValue::List((0..r % 4).map(|_| gen(seed, depth - 1)).collect()),
            _ => PyValue::dict(
                (0..r % 4)
                    .map(|k| {
                        let key = if k == 1 {
                            PyKey::Int(k as i64)
                        } else {
                            PyKey::Str(format!("k{}", r % 3 + k).into())
                        };
                        (key, gen(seed, depth - 1))
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn dumps_loads_dumps_is_stable() {
        let mut seed = 7;
        for _ in 0..5000 {
            let v = gen(&mut seed, 4);
            let text = dumps(&v);
            let back = loads(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(dumps(&back), text);
        }
    }

    #[test]
    fn loads_never_panics_on_mutations() {
        let base = br#"{"a": [1, -2.5e3, "x\u00e9\ud800\"", true, null, NaN, -Infinity], "b": {}}"#;
        let mut seed = 99u64;
        for _ in 0..20000 {
            let mut bytes = base.to_vec();
            for _ in 0..3 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let pos = (seed >> 33) as usize % bytes.len();
                let b = [
                    b'"', b'\\', b'[', b']', b'{', b'}', b',', b':', b'0', b'e', b'-', b'.', b'u',
                    b' ', 0xc3, 0xa9,
                ][(seed >> 20) as usize % 16];
                match seed % 3 {
                    0 => bytes[pos] = b,
                    1 => bytes.insert(pos, b),
                    _ => {
                        bytes.remove(pos);
                    }
                }
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if let Ok(v) = loads(text) {
                    assert_eq!(dumps(&loads(&dumps(&v)).unwrap()), dumps(&v));
                }
            }
        }
    }
}
