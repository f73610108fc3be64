//! The Python value model and the operations the reference applies to it.
//!
//! Every operation is total: where Python raises, the function returns the exception
//! class as `Err(PyExc)`.
use super::text;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A Python exception class, by name: what a failed hook reports under `libpatch21`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PyExc {
    IndexError,
    KeyError,
    JSONDecodeError,
    TypeError,
    AttributeError,
    ValueError,
    OverflowError,
    RecursionError,
    /// Raised by ops itself, before any handler runs
    /// ([`crate::log::Entry::remote_unit_app_mismatch`]).
    RuntimeError,
}

impl PyExc {
    /// The exception's class name, as Python prints it.
    pub fn name(self) -> &'static str {
        match self {
            PyExc::IndexError => "IndexError",
            PyExc::KeyError => "KeyError",
            PyExc::JSONDecodeError => "JSONDecodeError",
            PyExc::TypeError => "TypeError",
            PyExc::AttributeError => "AttributeError",
            PyExc::ValueError => "ValueError",
            PyExc::OverflowError => "OverflowError",
            PyExc::RecursionError => "RecursionError",
            PyExc::RuntimeError => "RuntimeError",
        }
    }
}

/// A Python `int`: machine-sized when it fits, otherwise its canonical decimal text
/// (optional `-`, no leading zeros), as Python ints have no size limit.
///
/// Build big values with [`PyInt::parse_decimal`] so that the form stays canonical: the
/// derived `==` and the numeric [`Ord`] then agree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PyInt {
    Small(i64),
    Big(Arc<str>),
}

/// A Python dict key. `json.loads` only makes `str` keys; the reference itself inserts an
/// `int` key (`stored_sources[rel_id] = ...` in its departed handler).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PyKey {
    Str(Arc<str>),
    Int(i64),
}

/// Hashed as a tag and the content, so that [`StrKey`] can look up `str` keys without
/// allocating one.
impl std::hash::Hash for PyKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            PyKey::Str(s) => {
                h.write_u8(0);
                s.hash(h);
            }
            PyKey::Int(n) => {
                h.write_u8(1);
                n.hash(h);
            }
        }
    }
}

/// A borrowed `str` dict key: `dict.get(&StrKey("url"))` finds `PyKey::Str("url")`.
#[derive(Debug, Clone, Copy)]
pub struct StrKey<'a>(pub &'a str);

impl std::hash::Hash for StrKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u8(0);
        self.0.hash(h);
    }
}

impl indexmap::Equivalent<PyKey> for StrKey<'_> {
    fn equivalent(&self, key: &PyKey) -> bool {
        matches!(key, PyKey::Str(s) if **s == *self.0)
    }
}

pub use super::dict::PyDict;

/// A value as Python's `json.loads` returns it.
#[derive(Debug, Clone)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(PyInt),
    Float(f64),
    Str(Arc<str>),
    List(Vec<PyValue>),
    /// Shared: cloning a value is O(1) per dict; writers copy on write (`Arc::make_mut`).
    Dict(Arc<PyDict>),
}

impl PyValue {
    /// A dict value.
    pub fn dict(d: PyDict) -> PyValue {
        PyValue::Dict(Arc::new(d))
    }

    /// Whether both are the very same object: a dict or a string shared by pointer.
    /// Nothing else is assumed the same (a list is held by value), so `false` says
    /// nothing about equality.
    pub fn is_same_object(&self, other: &PyValue) -> bool {
        match (self, other) {
            (PyValue::Dict(x), PyValue::Dict(y)) => Arc::ptr_eq(x, y),
            (PyValue::Str(x), PyValue::Str(y)) => Arc::ptr_eq(x, y),
            _ => false,
        }
    }
}

/// CPython's default limit on the digits of an `int` read from text
/// (`sys.get_int_max_str_digits()`): `int(s)` and `json.loads` raise `ValueError` above it.
pub const INT_MAX_STR_DIGITS: usize = 4300;

impl PyInt {
    /// Reads `-?[0-9]+` (leading zeros allowed) into the canonical form; `None` for any
    /// other text.
    pub fn parse_decimal(text: &str) -> Option<PyInt> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Some(PyInt::Small(0));
        }
        let text = if negative {
            format!("-{digits}")
        } else {
            digits.to_owned()
        };
        Some(match text.parse::<i64>() {
            Ok(n) => PyInt::Small(n),
            Err(_) => PyInt::Big(text.into()),
        })
    }

    /// Python's `int(x)` of a float: truncation toward zero, exact for any magnitude.
    /// `inf` raises `OverflowError` and `nan` raises `ValueError`, as in CPython.
    pub fn from_f64(x: f64) -> Result<PyInt, PyExc> {
        if x.is_nan() {
            return Err(PyExc::ValueError);
        }
        if x.is_infinite() {
            return Err(PyExc::OverflowError);
        }
        let t = x.trunc();
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
            return Ok(PyInt::Small(t as i64));
        }
        // `{:.0}` prints the exact decimal expansion of a double; `t` is a whole number.
        PyInt::parse_decimal(&format!("{t:.0}")).ok_or(PyExc::ValueError)
    }
}

impl fmt::Display for PyInt {
    /// The decimal text, as Python's `str(int)` / `repr(int)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyInt::Small(n) => write!(f, "{n}"),
            PyInt::Big(text) => f.write_str(text),
        }
    }
}

/// Compares two ints numerically, exactly for any size (Python `<`, `==`, `>` on ints).
pub fn int_cmp(a: &PyInt, b: &PyInt) -> Ordering {
    if let (PyInt::Small(x), PyInt::Small(y)) = (a, b) {
        return x.cmp(y);
    }
    let (ta, tb) = (a.to_string(), b.to_string());
    // Sign and magnitude without leading zeros, so that non-canonical text compares too.
    let split = |t: &str| -> (bool, String) {
        let (neg, digits) = t.strip_prefix('-').map_or((false, t), |d| (true, d));
        let digits = digits.trim_start_matches('0');
        (neg && !digits.is_empty(), digits.to_owned())
    };
    let magnitude = |x: &str, y: &str| x.len().cmp(&y.len()).then_with(|| x.cmp(y));
    match (split(&ta), split(&tb)) {
        ((false, _), (true, _)) => Ordering::Greater,
        ((true, _), (false, _)) => Ordering::Less,
        ((false, x), (false, y)) => magnitude(&x, &y),
        ((true, x), (true, y)) => magnitude(&y, &x),
    }
}

impl Ord for PyInt {
    fn cmp(&self, other: &Self) -> Ordering {
        int_cmp(self, other)
    }
}

impl PartialOrd for PyInt {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares an int with a float exactly, as Python does (`None` when the float is NaN).
fn int_float_cmp(i: &PyInt, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let t = f.trunc();
    let whole = PyInt::from_f64(t).ok()?;
    Some(int_cmp(i, &whole).then(t.partial_cmp(&f)?))
}

/// A number as Python sees it for comparisons: `bool` is an `int`.
enum Num {
    Int(PyInt),
    Float(f64),
}

fn as_num(v: &PyValue) -> Option<Num> {
    match v {
        PyValue::Bool(b) => Some(Num::Int(PyInt::Small(i64::from(*b)))),
        PyValue::Int(i) => Some(Num::Int(i.clone())),
        PyValue::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

impl PyValue {
    /// Python's `bool(v)`: false for `None`, `False`, `0`, `0.0`, `''`, `[]`, `{}` (NaN is true).
    pub fn truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(i) => *i != PyInt::Small(0),
            PyValue::Float(f) => *f != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(l) => !l.is_empty(),
            PyValue::Dict(d) => !d.is_empty(),
        }
    }

    /// Python's `type(v).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
        }
    }

    /// Python's `str(v)`: the text itself for a `str`, otherwise `repr(v)`.
    pub fn py_str(&self) -> String {
        match self {
            PyValue::Str(s) => s.to_string(),
            v => v.py_repr(),
        }
    }

    /// Python's `repr(v)`: `None`, `True`, `42`, `1e+16`, `inf`, `nan`, `'a\'b"'`,
    /// `[1, 'a']`, `{'k': 1, 1: 'x'}`.
    pub fn py_repr(&self) -> String {
        let mut out = String::new();
        write_repr(&mut out, self);
        out
    }

    /// The value `json.loads` gives for the JSON text that `v` was read from: a number
    /// without fraction or exponent is an `int` (exact, via `arbitrary_precision`), any other
    /// is a `float`. Unlike [`super::json::loads`] there is no error channel, so an int of more
    /// than [`INT_MAX_STR_DIGITS`] digits is kept instead of raising `ValueError`.
    pub fn from_json(v: &serde_json::Value) -> PyValue {
        match v {
            serde_json::Value::Null => PyValue::None,
            serde_json::Value::Bool(b) => PyValue::Bool(*b),
            serde_json::Value::Number(n) => number_from_text(&n.to_string(), usize::MAX)
                .unwrap_or_else(|_| PyValue::Float(n.as_f64().unwrap_or(f64::NAN))),
            serde_json::Value::String(s) => PyValue::Str(s.as_str().into()),
            serde_json::Value::Array(items) => {
                PyValue::List(items.iter().map(PyValue::from_json).collect())
            }
            serde_json::Value::Object(map) => PyValue::dict(
                map.iter()
                    .map(|(k, v)| (PyKey::Str(k.as_str().into()), PyValue::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The value as a `serde_json::Value`, for typed logs and reports. Ints are exact; a
    /// finite float keeps its Python spelling (`300.0`, `1e+16`). Lossy where JSON cannot
    /// follow Python: a non-finite float becomes `null`, an `int` key becomes its decimal
    /// string (a later key with the same text then replaces the earlier one's value).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            PyValue::None => Value::Null,
            PyValue::Bool(b) => Value::Bool(*b),
            PyValue::Int(_) | PyValue::Float(_) => {
                self.json_number().map_or(Value::Null, Value::Number)
            }
            PyValue::Str(s) => Value::String(s.to_string()),
            PyValue::List(items) => Value::Array(items.iter().map(PyValue::to_json).collect()),
            PyValue::Dict(d) => Value::Object(
                d.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            PyKey::Str(s) => s.to_string(),
                            PyKey::Int(n) => n.to_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }
}

impl PyValue {
    /// An int or a float as the JSON number [`PyValue::to_json`] writes (Python's text of
    /// it); `None` for a float that is not finite, and for any other value.
    pub(crate) fn json_number(&self) -> Option<serde_json::Number> {
        let text = match self {
            PyValue::Int(i) => i.to_string(),
            PyValue::Float(f) if f.is_finite() => {
                let mut text = String::new();
                text::write_float(&mut text, *f, "nan", "inf");
                text
            }
            _ => return None,
        };
        text.parse().ok()
    }
}

/// `value` written as JSON straight to a serializer: the same bytes as serializing
/// [`PyValue::to_json`], without building that value first (a step report holds the whole
/// provisioning file, so building it was most of `replay --steps`).
///
/// ```
/// use grafana_source::py::{json, Json};
/// let v = json::loads(r#"{"a": [1, 2.5, null, "x"], "b": {"c": true}}"#).unwrap();
/// let streamed = serde_json::to_string(&Json(&v)).unwrap();
/// assert_eq!(streamed, serde_json::to_string(&v.to_json()).unwrap());
/// ```
pub struct Json<'a>(pub &'a PyValue);

impl serde::Serialize for Json<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            PyValue::None => s.serialize_unit(),
            PyValue::Bool(b) => s.serialize_bool(*b),
            PyValue::Int(_) | PyValue::Float(_) => self.0.json_number().serialize(s),
            PyValue::Str(t) => s.serialize_str(t),
            PyValue::List(items) => s.collect_seq(items.iter().map(Json)),
            // An int key and a str key may write the same text (`1` and `"1"`); the object
            // `to_json` builds keeps one of them: built, then, to say which.
            PyValue::Dict(d) if d.keys().any(|k| matches!(k, PyKey::Int(_))) => {
                self.0.to_json().serialize(s)
            }
            PyValue::Dict(d) => {
                let mut m = s.serialize_map(Some(d.len()))?;
                for (k, v) in d.iter() {
                    if let PyKey::Str(k) = k {
                        m.serialize_entry(&**k, &Json(v))?;
                    }
                }
                m.end()
            }
        }
    }
}

/// Reads a JSON number's text as `json.loads` does: no fraction and no exponent → `int`
/// (more than `max_digits` digits → `ValueError`), otherwise a correctly rounded `float`
/// (overflow → `inf`). Text that is not a JSON number → `JSONDecodeError`.
pub(crate) fn number_from_text(text: &str, max_digits: usize) -> Result<PyValue, PyExc> {
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return text
            .parse::<f64>()
            .map(PyValue::Float)
            .map_err(|_| PyExc::JSONDecodeError);
    }
    let digits = text.strip_prefix('-').unwrap_or(text).len();
    let int = PyInt::parse_decimal(text).ok_or(PyExc::JSONDecodeError)?;
    if digits > max_digits {
        return Err(PyExc::ValueError);
    }
    Ok(PyValue::Int(int))
}

fn write_repr(out: &mut String, v: &PyValue) {
    match v {
        PyValue::None => out.push_str("None"),
        PyValue::Bool(true) => out.push_str("True"),
        PyValue::Bool(false) => out.push_str("False"),
        PyValue::Int(i) => out.push_str(&i.to_string()),
        PyValue::Float(f) => text::write_float(out, *f, "nan", "inf"),
        PyValue::Str(s) => text::write_str_repr(out, s),
        PyValue::List(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
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
                    PyKey::Str(s) => text::write_str_repr(out, s),
                    PyKey::Int(i) => out.push_str(&i.to_string()),
                }
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `a == b` on the values `json.loads` makes.
///
/// `bool`, `int` and `float` compare numerically and exactly (`True == 1 == 1.0`,
/// `2**53 + 1 != 2.0**53`); `str` by content; lists item by item; dicts as mappings,
/// whatever their order; values of different kinds are unequal. `NaN == NaN` is false at the
/// top level, but *inside* lists and dicts CPython compares items with
/// `PyObject_RichCompareBool`, which first tests identity, and every NaN `json.loads`
/// produces is the same object (`json.decoder.NaN`): so `[NaN] == [NaN]` is true, as here.
pub fn py_eq(a: &PyValue, b: &PyValue) -> bool {
    eq(a, b, false)
}

/// Equality as Python's containers test it (`x in list`, `list.remove(x)`,
/// `PyObject_RichCompareBool`): identity first, so the NaN `json.loads` returns (one
/// shared object) equals itself, at the top level too.
pub fn py_eq_member(a: &PyValue, b: &PyValue) -> bool {
    eq(a, b, true)
}

/// `same_nan`: compare as `PyObject_RichCompareBool` does (NaN is its own json singleton).
fn eq(a: &PyValue, b: &PyValue, same_nan: bool) -> bool {
    if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
        return match (x, y) {
            (Num::Int(x), Num::Int(y)) => int_cmp(&x, &y) == Ordering::Equal,
            (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
                int_float_cmp(&i, f) == Some(Ordering::Equal)
            }
            (Num::Float(x), Num::Float(y)) => x == y || (same_nan && x.is_nan() && y.is_nan()),
        };
    }
    match (a, b) {
        (PyValue::None, PyValue::None) => true,
        (PyValue::Str(x), PyValue::Str(y)) => x == y,
        (PyValue::List(x), PyValue::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| eq(x, y, true))
        }
        (PyValue::Dict(x), PyValue::Dict(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w, true)))
        }
        _ => false,
    }
}

/// Python's `item in container`.
///
/// - list: any item equal to `item` (with the identity shortcut of [`py_eq`] for NaN);
/// - dict: key lookup; `item` must be hashable (`list`/`dict` → `TypeError`); a `str`
///   matches a `str` key, a `bool`/`int` or a whole `float` matches the equal `int` key,
///   `None` and anything else match nothing;
/// - str: substring test; `item` must be a `str` (else `TypeError`);
/// - `None`, `bool`, `int`, `float`: `TypeError` (not iterable).
pub fn contains(container: &PyValue, item: &PyValue) -> Result<bool, PyExc> {
    match container {
        PyValue::List(items) => Ok(items.iter().any(|x| eq(x, item, true))),
        PyValue::Dict(d) => {
            let key = match item {
                PyValue::List(_) | PyValue::Dict(_) => return Err(PyExc::TypeError),
                PyValue::Str(s) => PyKey::Str(s.clone()),
                PyValue::Bool(b) => PyKey::Int(i64::from(*b)),
                PyValue::Int(PyInt::Small(n)) => PyKey::Int(*n),
                PyValue::Float(f)
                    if f.fract() == 0.0
                        && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0)
                            .contains(f) =>
                {
                    PyKey::Int(*f as i64)
                }
                _ => return Ok(false),
            };
            Ok(d.contains_key(&key))
        }
        PyValue::Str(s) => match item {
            PyValue::Str(sub) => Ok(s.contains(&**sub)),
            _ => Err(PyExc::TypeError),
        },
        _ => Err(PyExc::TypeError),
    }
}

/// Python's `list(v)`: a list's items, a dict's keys (as `str`/`int` values), a str's
/// characters (as one-char strs); `TypeError` for `None`, `bool`, `int`, `float`.
pub fn to_list(v: &PyValue) -> Result<Vec<PyValue>, PyExc> {
    match v {
        PyValue::List(items) => Ok(items.clone()),
        PyValue::Dict(d) => Ok(d
            .keys()
            .map(|k| match k {
                PyKey::Str(s) => PyValue::Str(s.clone()),
                PyKey::Int(n) => PyValue::Int(PyInt::Small(*n)),
            })
            .collect()),
        PyValue::Str(s) => Ok(s
            .chars()
            .map(|c| PyValue::Str(c.to_string().into()))
            .collect()),
        _ => Err(PyExc::TypeError),
    }
}

/// Python's `v[key]` with a `str` key: a dict's value or `KeyError`; `TypeError` for every
/// other kind (list and str indices must be integers; the rest are not subscriptable).
pub fn getitem_str<'a>(v: &'a PyValue, key: &str) -> Result<&'a PyValue, PyExc> {
    match v {
        PyValue::Dict(d) => d.get(&StrKey(key)).ok_or(PyExc::KeyError),
        _ => Err(PyExc::TypeError),
    }
}

/// Python's `v.get(key)` with a `str` key: `Ok(None)` when a dict lacks the key;
/// `AttributeError` for anything but a dict (no other kind has `.get`).
pub fn get_str<'a>(v: &'a PyValue, key: &str) -> Result<Option<&'a PyValue>, PyExc> {
    match v {
        PyValue::Dict(d) => Ok(d.get(&StrKey(key))),
        _ => Err(PyExc::AttributeError),
    }
}

/// Python's `int(v)`.
///
/// `bool` → 0/1; `int` → itself; `float` → truncated toward zero ([`PyInt::from_f64`]);
/// `str` → CPython's base-10 parse: surrounding whitespace skipped (ASCII ' ', `\t`..`\r` and
/// non-ASCII `isspace` chars, but not U+001C..U+001F), optional `+`/`-`, decimal digits of any
/// script (Unicode Nd, by value), single `_` only between digits, more than
/// [`INT_MAX_STR_DIGITS`] digits (leading zeros count) → `ValueError`, anything else →
/// `ValueError`; `None`, `list`, `dict` → `TypeError`.
pub fn py_int(v: &PyValue) -> Result<PyInt, PyExc> {
    match v {
        PyValue::Bool(b) => Ok(PyInt::Small(i64::from(*b))),
        PyValue::Int(i) => Ok(i.clone()),
        PyValue::Float(f) => PyInt::from_f64(*f),
        PyValue::Str(s) => int_from_str(s),
        PyValue::None | PyValue::List(_) | PyValue::Dict(_) => Err(PyExc::TypeError),
    }
}

fn int_from_str(s: &str) -> Result<PyInt, PyExc> {
    let s = s.trim_matches(text::is_int_space);
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut digits = String::new();
    let mut after_digit = false;
    for c in body.chars() {
        if c == '_' && after_digit {
            after_digit = false;
            continue;
        }
        let d = match c {
            '0'..='9' => c,
            c if c.is_ascii() => return Err(PyExc::ValueError),
            c => text::decimal_value(c)
                .and_then(|d| char::from_digit(d, 10))
                .ok_or(PyExc::ValueError)?,
        };
        digits.push(d);
        after_digit = true;
    }
    if !after_digit || digits.len() > INT_MAX_STR_DIGITS {
        return Err(PyExc::ValueError);
    }
    if negative {
        digits.insert(0, '-');
    }
    PyInt::parse_decimal(&digits).ok_or(PyExc::ValueError)
}

/// Python's `re.match(r"^\w+://", s) is not None`: one or more word chars (`_` or a
/// Unicode letter/number, [`str.isalnum`]; combining marks are not word chars) directly
/// followed by `://`.
///
/// [`str.isalnum`]: https://docs.python.org/3/library/stdtypes.html#str.isalnum
pub fn match_word_scheme(s: &str) -> bool {
    let rest = s.trim_start_matches(text::is_word);
    rest.len() < s.len() && rest.starts_with("://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::py::cpython_cases;
    use crate::py::json::{dumps, loads};

    /// A clone shares the dict or string; an equal value made separately is another
    /// object; a number is never taken for the same object.
    #[test]
    fn same_object_is_identity_not_equality() {
        for text in [r#"{"a": 1}"#, r#""a""#] {
            let v = loads(text).unwrap();
            assert!(v.is_same_object(&v.clone()), "{text}");
            assert!(!v.is_same_object(&loads(text).unwrap()), "{text}");
        }
        let n = PyValue::Int(PyInt::Small(1));
        assert!(!n.is_same_object(&n.clone()));
        assert!(!loads("[]").unwrap().is_same_object(&loads("[]").unwrap()));
    }

    fn v(json: &str) -> PyValue {
        loads(json).unwrap_or_else(|e| panic!("{json}: {e:?}"))
    }

    fn shown<T>(r: Result<T, PyExc>, f: impl FnOnce(T) -> String) -> String {
        r.map_or_else(|e| e.name().to_owned(), f)
    }

    fn py_bool(b: bool) -> String {
        if b { "True" } else { "False" }.to_owned()
    }

    #[test]
    fn eq_matches_cpython() {
        for (a, b, want) in cpython_cases::EQ {
            assert_eq!(py_bool(py_eq(&v(a), &v(b))), *want, "{a} == {b}");
        }
    }

    #[test]
    fn contains_matches_cpython() {
        for (c, item, want) in cpython_cases::CONTAINS {
            assert_eq!(
                shown(contains(&v(c), &v(item)), py_bool),
                *want,
                "{item} in {c}"
            );
        }
        // Keys json.loads never makes: `1 in {1: 'x'}`, `1.0 in ...`, `True in ...`, `'1' in ...`.
        let d = PyValue::dict([(PyKey::Int(1), PyValue::None)].into_iter().collect());
        assert_eq!(contains(&d, &v("1")), Ok(true));
        assert_eq!(contains(&d, &v("1.0")), Ok(true));
        assert_eq!(contains(&d, &v("true")), Ok(true));
        assert_eq!(contains(&d, &v("\"1\"")), Ok(false));
        assert_eq!(contains(&d, &v("1.5")), Ok(false));
    }

    #[test]
    fn list_getitem_get_match_cpython() {
        for (input, want) in cpython_cases::TO_LIST {
            let got = shown(to_list(&v(input)), |l| dumps(&PyValue::List(l)));
            assert_eq!(got, *want, "list({input})");
        }
        for (input, want) in cpython_cases::GETITEM_K {
            assert_eq!(
                shown(getitem_str(&v(input), "k"), dumps),
                *want,
                "{input}['k']"
            );
        }
        for (input, want) in cpython_cases::GET_K {
            let got = shown(get_str(&v(input), "k"), |x| x.map_or("null".into(), dumps));
            assert_eq!(got, *want, "{input}.get('k')");
        }
        let d = PyValue::dict([(PyKey::Int(7), PyValue::None)].into_iter().collect());
        assert_eq!(dumps(&PyValue::List(to_list(&d).unwrap())), "[7]");
    }

    #[test]
    fn truthy_type_str_repr_match_cpython() {
        for (input, truth, type_name) in cpython_cases::TRUTHY {
            let x = v(input);
            assert_eq!(py_bool(x.truthy()), *truth, "bool({input})");
            assert_eq!(x.type_name(), *type_name, "type({input})");
        }
        for (input, s, r) in cpython_cases::STR_REPR {
            let x = v(input);
            assert_eq!(x.py_str(), *s, "str({input})");
            assert_eq!(x.py_repr(), *r, "repr({input})");
        }
        let d: PyDict = [
            (PyKey::Str("k".into()), v("1")),
            (PyKey::Int(1), v("\"x\"")),
        ]
        .into_iter()
        .collect();
        assert_eq!(PyValue::dict(d).py_repr(), "{'k': 1, 1: 'x'}");
    }

    #[test]
    fn int_matches_cpython() {
        for (input, want) in cpython_cases::INT {
            assert_eq!(
                shown(py_int(&v(input)), |i| i.to_string()),
                *want,
                "int({input})"
            );
        }
        // Long cases (python3 3.11.7): 4300 digits parse, 4301 raise, leading zeros count.
        let s = |t: String| PyValue::Str(t.into());
        assert_eq!(
            py_int(&s("9".repeat(4300))).map(|i| i.to_string()),
            Ok("9".repeat(4300))
        );
        assert_eq!(py_int(&s("9".repeat(4301))), Err(PyExc::ValueError));
        assert_eq!(
            py_int(&s(format!("-{}", "0".repeat(4300)))),
            Ok(PyInt::Small(0))
        );
        assert_eq!(py_int(&s("0".repeat(4301))), Err(PyExc::ValueError));
        assert_eq!(
            py_int(&s(format!("{}_1", "0".repeat(4299)))),
            Ok(PyInt::Small(1))
        );
    }

    /// `Json` writes what serializing `to_json` writes, for every kind of value, and for a
    /// dict whose int and str keys write the same text (`to_json` keeps one of them).
    #[test]
    fn json_streams_the_bytes_of_to_json() {
        let same = |value: &PyValue| {
            let streamed = serde_json::to_string(&Json(value)).unwrap();
            assert_eq!(streamed, value.to_json().to_string(), "{value:?}");
            streamed
        };
        let text = r#"{"a": [1, -0.0, 2.5, 1e400, 1e16, 0.1, 123456789012345678901234567890,
            null, true, "x\u00e9\n", {"b": {}}], "c": []}"#;
        same(&loads(text).unwrap());
        for f in [f64::NAN, f64::INFINITY, -f64::INFINITY, 5e-324, 1.0] {
            same(&PyValue::Float(f));
        }
        let colliding: PyDict = [
            (PyKey::Str("1".into()), v("\"str\"")),
            (PyKey::Int(1), v("\"int\"")),
            (PyKey::Int(2), v("\"two\"")),
            (PyKey::Str("k".into()), v("[1]")),
        ]
        .into_iter()
        .collect();
        let written = same(&PyValue::dict(colliding));
        assert_eq!(written, r#"{"1":"int","2":"two","k":[1]}"#);
    }

    #[test]
    fn scheme_matches_cpython() {
        for (input, want) in cpython_cases::SCHEME {
            assert_eq!(py_bool(match_word_scheme(input)), *want, "{input:?}");
        }
    }

    #[test]
    fn int_order_is_exact() {
        let ints = [
            "-100000000000000000000",
            "-9223372036854775809",
            "-9223372036854775808",
            "-1",
            "0",
            "1",
            "9223372036854775807",
            "9223372036854775808",
            "10000000000000000000",
            "99999999999999999999",
            "100000000000000000000",
        ];
        let parsed: Vec<PyInt> = ints
            .iter()
            .map(|t| PyInt::parse_decimal(t).unwrap())
            .collect();
        for (a, x) in parsed.iter().enumerate() {
            for (b, y) in parsed.iter().enumerate() {
                assert_eq!(int_cmp(x, y), a.cmp(&b), "{x} vs {y}");
            }
        }
        assert!(matches!(parsed[2], PyInt::Small(i64::MIN)) && matches!(parsed[1], PyInt::Big(_)));
        assert_eq!(PyInt::parse_decimal("-000"), Some(PyInt::Small(0)));
        assert_eq!(PyInt::parse_decimal("0012"), Some(PyInt::Small(12)));
        assert_eq!(PyInt::parse_decimal("1a"), None);
        assert_eq!(PyInt::parse_decimal("-"), None);
        assert_eq!(PyInt::parse_decimal("+1"), None);
    }

    #[test]
    fn serde_json_conversions() {
        let text = r#"{"a": [1, -0, 1.0, 1E5, 123456789012345678901234567890, -1.5e-7, "é"], "b": null, "c": {"d": true}}"#;
        let sj: serde_json::Value = serde_json::from_str(text).unwrap();
        let from = PyValue::from_json(&sj);
        assert_eq!(dumps(&from), dumps(&v(text)));
        assert_eq!(
            serde_json::to_string(&from.to_json()).unwrap(),
            r#"{"a":[1,0,1.0,100000.0,123456789012345678901234567890,-1.5e-07,"é"],"b":null,"c":{"d":true}}"#
        );
        let odd = v(r#"[NaN, Infinity, -Infinity, 1e400, 1e16]"#);
        assert_eq!(
            serde_json::to_string(&odd.to_json()).unwrap(),
            "[null,null,null,null,1e+16]"
        );
        let d = PyValue::dict([(PyKey::Int(3), PyValue::None)].into_iter().collect());
        assert_eq!(
            serde_json::to_string(&d.to_json()).unwrap(),
            r#"{"3":null}"#
        );
        // Round trip through serde_json keeps every finite value exactly.
        let back = PyValue::from_json(&from.to_json());
        assert!(py_eq(&back, &from));
        assert_eq!(dumps(&back), dumps(&from));
    }
}
