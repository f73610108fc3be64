//! CPython's text rules that the value model needs: `repr(float)`, `repr(str)`, and the
//! Unicode predicates behind `str.isprintable`, `\w` in `re`, and `int(str)`.
//!
//! Unicode data comes from `unicode-general-category` 0.6 (Unicode 15.0.0, the database of
//! CPython 3.12; CPython 3.11 has 14.0.0, so the two differ only on the code points that
//! Unicode 15.0 newly assigned).
use unicode_general_category::{get_general_category, GeneralCategory as G};

/// First code point of the block that stands for lone surrogates (see [`crate::py::json::loads`]):
/// U+D800..U+DFFF are held as U+100000..U+1007FF (Supplementary Private Use Area-B).
const SURROGATE_BASE: u32 = 0x10_0000;

/// The char that stands for the lone surrogate `cp` (U+D800..U+DFFF) inside a Rust `str`.
pub(crate) fn char_for_surrogate(cp: u32) -> char {
    debug_assert!((0xD800..0xE000).contains(&cp));
    char::from_u32(SURROGATE_BASE + (cp & 0x7FF)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The lone surrogate that `c` stands for, if `c` is in the stand-in block.
pub(crate) fn surrogate_of(c: char) -> Option<u32> {
    let cp = c as u32;
    (SURROGATE_BASE..SURROGATE_BASE + 0x800)
        .contains(&cp)
        .then(|| 0xD800 + (cp - SURROGATE_BASE))
}

/// `c.isprintable()`: false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than ' '.
pub(crate) fn is_printable(c: char) -> bool {
    c == ' '
        || !matches!(
            get_general_category(c),
            G::Control
                | G::Format
                | G::Surrogate
                | G::PrivateUse
                | G::Unassigned
                | G::LineSeparator
                | G::ParagraphSeparator
                | G::SpaceSeparator
        )
}

/// `\w` of Python 3's `re` on `str`: `_` or `c.isalnum()`, which is exactly the letter (L*)
/// and number (N*) categories (checked against CPython 3.11 over all code points).
pub(crate) fn is_word(c: char) -> bool {
    c == '_'
        || matches!(
            get_general_category(c),
            G::UppercaseLetter
                | G::LowercaseLetter
                | G::TitlecaseLetter
                | G::ModifierLetter
                | G::OtherLetter
                | G::DecimalNumber
                | G::LetterNumber
                | G::OtherNumber
        )
}

/// `unicodedata.decimal(c)`: the value of a decimal digit (category Nd). Unicode encodes Nd
/// digits as contiguous runs of ten starting at zero, so the value is the offset in the run.
pub(crate) fn decimal_value(c: char) -> Option<u32> {
    let is_nd =
        |cp: u32| char::from_u32(cp).is_some_and(|c| get_general_category(c) == G::DecimalNumber);
    let cp = c as u32;
    if !is_nd(cp) {
        return None;
    }
    let mut start = cp;
    while start > 0 && is_nd(start - 1) {
        start -= 1;
    }
    Some((cp - start) % 10)
}

/// The whitespace `int(str)` skips around the number: ASCII ' ', '\t', '\n', '\v', '\f', '\r'
/// (`Py_ISSPACE`) and the non-ASCII `str.isspace()` chars. Unlike `str.strip()`, U+001C..U+001F
/// are *not* skipped (CPython keeps ASCII as is before `PyLong_FromString`).
pub(crate) fn is_int_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'..='\r'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Appends Python's `repr(x)` of a float; `nan` and `inf` name the non-finite spellings
/// (`"nan"`/`"inf"` for `repr`, `"NaN"`/`"Infinity"` for `json.dumps`).
///
/// The shortest digit string that reads back to the same double (the nearest such string,
/// ties to even, as CPython's `repr`), written in fixed notation when
/// the decimal exponent is in `-4 <= exp < 16` and with a `.0` added to whole numbers,
/// otherwise as `d.ddde+XX` with a signed, at least two-digit exponent.
pub(crate) fn write_float(out: &mut String, x: f64, nan: &str, inf: &str) {
    if x.is_nan() {
        out.push_str(nan);
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str(inf);
        return;
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }
    // Rust's shortest form gives the digit count; when several strings of that length read
    // back to `x`, CPython (dtoa mode 0) writes the one nearest to `x`, ties to even, which is
    // what Rust's exact formatting at that precision gives.
    let shortest = format!("{:e}", x.abs());
    let count = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.len() - usize::from(m.len() > 1));
    let sci = format!("{:.*e}", count.saturating_sub(1), x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    digits.truncate(digits.trim_end_matches('0').len().max(1));
    let exp: i32 = exp.parse().unwrap_or(0);
    let n = digits.len() as i32;
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point >= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - n) as usize));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    }
}

/// Appends Python's `repr(s)` of a str.
///
/// Single quotes unless `s` contains `'` and no `"`; escapes `\\`, the quote, `\t`, `\n`,
/// `\r`; other ASCII controls and DEL as `\xNN`; non-ASCII non-printable chars as `\xNN`,
/// `\uNNNN` or `\UNNNNNNNN`; a stand-in for a lone surrogate as that surrogate, `\udXXX`.
pub(crate) fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c => {
                if let Some(sur) = surrogate_of(c) {
                    out.push_str(&format!("\\u{sur:04x}"));
                } else if is_printable(c) {
                    out.push(c);
                } else {
                    let cp = c as u32;
                    out.push_str(&match cp {
                        0..=0xff => format!("\\x{cp:02x}"),
                        0x100..=0xffff => format!("\\u{cp:04x}"),
                        _ => format!("\\U{cp:08x}"),
                    });
                }
            }
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr_f(x: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, x, "nan", "inf");
        s
    }

    fn repr_s(x: &str) -> String {
        let mut s = String::new();
        write_str_repr(&mut s, x);
        s
    }

    #[test]
    fn float_repr_matches_cpython() {
        // Expected values from python3 (3.11.7): repr(float(...)).
        let cases: &[(f64, &str)] = &[
            (300.0, "300.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.5e-5, "1.5e-05"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-123.456, "-123.456"),
            (0.00012345, "0.00012345"),
            (1e100, "1e+100"),
            (2.5, "2.5"),
            (1e-7, "1e-07"),
            (-1113178120592002.2, "-1113178120592002.2"), // exactly ...2.25: ties to even
            (111659285584252.12, "111659285584252.12"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(repr_f(*x), *want, "{x:e}");
        }
    }

    #[test]
    fn str_repr_matches_cpython() {
        // Expected values from python3 (3.11.7): repr(s).
        let cases: &[(&str, &str)] = &[
            ("", "''"),
            ("a'b", "\"a'b\""),
            ("a'b\"c", "'a\\'b\"c'"),
            ("a\"b", "'a\"b'"),
            ("\\", "'\\\\'"),
            ("\t\n\r\x00\x1f\x7f", "'\\t\\n\\r\\x00\\x1f\\x7f'"),
            ("\u{80}\u{a0}\u{ad}é", "'\\x80\\xa0\\xadé'"),
            (
                "\u{2028}\u{200b}\u{e000}\u{378}",
                "'\\u2028\\u200b\\ue000\\u0378'",
            ),
            ("📈\u{e0001}\u{10ffff}", "'📈\\U000e0001\\U0010ffff'"),
            ("\u{3000} ", "'\\u3000 '"),
            ("\u{100000}\u{1007ff}", "'\\ud800\\udfff'"),
        ];
        for (s, want) in cases {
            assert_eq!(repr_s(s), *want, "{s:?}");
        }
    }

    #[test]
    fn unicode_predicates() {
        assert!(is_word('_') && is_word('a') && is_word('é') && is_word('٣') && is_word('²'));
        assert!(is_word('Ⅻ') && is_word('中'));
        assert!(!is_word('-') && !is_word('\u{301}') && !is_word(' ') && !is_word(':'));
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('٣'), Some(3));
        assert_eq!(decimal_value('\u{1d7ce}'), Some(0)); // MATHEMATICAL BOLD DIGIT ZERO
        assert_eq!(decimal_value('\u{1d7ff}'), Some(9)); // ... MONOSPACE DIGIT NINE
        assert_eq!(decimal_value('\u{1d7f6}'), Some(0));
        assert_eq!(decimal_value('²'), None);
        assert_eq!(decimal_value('a'), None);
        assert!(is_int_space('\u{3000}') && is_int_space('\x0b') && !is_int_space('\x1c'));
        assert_eq!(surrogate_of(char_for_surrogate(0xdabc)), Some(0xdabc));
        assert_eq!(surrogate_of('\u{fffff}'), None);
        assert_eq!(surrogate_of('\u{100800}'), None);
    }
}
