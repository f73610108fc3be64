//! Python semantics, exactly where the reference depends on them.
//!
//! The reference library is Python: it reads relation and peer data with `json.loads`,
//! writes peer data with `json.dumps`, formats source names with `str.format`, tests
//! membership with `in`, and fails with Python exceptions. The `libpatch21` profile must
//! reproduce all of that on *any* input, including corrupt peer data, so this module
//! models the Python values `json.loads` produces and the handful of operations the
//! reference performs on them. Nothing here does I/O.
//!
//! Behaviour is that of CPython 3.11/3.12 (checked against python3 3.11.7); where the two
//! differ or CPython depends on the interpreter's state, the choice is documented on the item
//! (recursion depth in [`json::loads`], Unicode version in the `text` module).

#[cfg(test)]
mod cpython_cases;
mod dict;
pub mod json;
mod text;
mod value;

pub use value::{
    contains, get_str, getitem_str, int_cmp, match_word_scheme, py_eq, py_eq_member, py_int,
    to_list, Json, PyDict, PyExc, PyInt, PyKey, PyValue, StrKey, INT_MAX_STR_DIGITS,
};
