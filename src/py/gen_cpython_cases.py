#!/usr/bin/env python3
"""Regenerates cpython_cases.rs: the expected results of the py:: unit tests, computed by
CPython itself (run with the python3 whose behaviour is the reference; last run: 3.11.7).

    python3 src/py/gen_cpython_cases.py > src/py/cpython_cases.rs

Every input is JSON text, so each case also goes through py::json::loads. A lone surrogate in
a Python str is written as its stand-in U+100000 + (cp - 0xD800), as py::json::loads stores it.
"""
import json

LIMIT = 600  # longer cases are built in code by the tests


def rs(s):
    out = '"'
    for c in s:
        o = ord(c)
        if c == '"':
            out += '\\"'
        elif c == "\\":
            out += "\\\\"
        elif 0x20 <= o < 0x7F:
            out += c
        elif 0xD800 <= o < 0xE000:
            out += "\\u{%x}" % (0x100000 + o - 0xD800)
        else:
            out += "\\u{%x}" % o
    return out + '"'


def exc(f):
    try:
        return f()
    except RecursionError:
        return "RecursionError"
    except json.JSONDecodeError:
        return "JSONDecodeError"
    except Exception as e:  # ValueError, TypeError, KeyError, AttributeError, OverflowError
        return type(e).__name__


def table(name, doc, rows):
    print("/// %s" % doc)
    print("pub(super) const %s: &[(%s)] = &[" % (name, ", ".join(["&str"] * len(rows[0]))))
    for row in rows:
        if all(len(x) <= LIMIT for x in row):
            print("    (%s)," % ", ".join(rs(x) for x in row))
    print("];")
    print()


JSON = [
    '{"a": 1, "b": [true, false, null]}', " \t\n\r[1,2 , 3]\r\n ", "[]", "{}", "[[]]", '{"":{}}',
    '"abc"', '""', "0", "-0", "-0.0", "0.0", "1.5", "1E5", "1e-5", "1.0e+2", "2.5e-3", "1e400",
    "-1e400", "1e-400", "123456789012345678901234567890", "-9223372036854775808",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "12345678901234567890.5", "0.1", "100", "1e16", "1e15", "123456789012345678.0", "5e-324",
    "4.9e-324", "2e-324", "NaN", "Infinity", "-Infinity", "[NaN, Infinity, -Infinity]", "-NaN",
    "nan", "inf", "infinity", "-infinity", "Inf", '"\\u00e9\\u20AC\\ud83d\\udcc8"', '"\\ud800"',
    '"\\udc00"', '"\\ud800\\u0041"', '"\\ud800\\ud800"', '"\\ud800\\udc00\\udfff"',
    '"\\udbff\\udfff"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"é€📈"', '"\x7f\x80"', '"a\x00b"',
    '"a\nb"', '"a\x1fb"', '"\\x41"', '"\\u12"', '"\\u12G4"', '"\\U0041"', "\"\\'\"",
    '"\\ud800\\u12"', '"\\ud800\\uZZZZ"', '"\\ud800\\"', '"abc', '"\\', '"\\u00e9', '"\\ud83d\\ude00',
    '{"a": 1, "b": 2, "a": 3}', '{"b": 1, "a": 2, "b": 3, "c": 4}', '{"a":1,}', "[1,]", "[,1]",
    "{,}", '{"a"}', '{"a":}', '{"a" 1}', "{1: 2}", "{'a': 1}", "[1 2]", "[1,,2]", "", " ", "[",
    "]", "{", "}", "tru", "true false", "nul", "nulll", "True", "None", "1 2", "[1] x", "01", "-",
    "-a", "+1", ".5", "1.", "1.e5", "1e", "1e+", "1E-", "-01", "00", "1.5.2", "0x10", "1_000",
    "\ufeff1", "\u00a01", "\x0c1", "\x0b1", "[1]\x00", '"\\u0000"', "1" * 4300, "1" * 4301,
    "-" + "1" * 4300, "-" + "1" * 4301, "1" * 4300 + "x", "[" + "1" * 5000 + ", ]",
    "[1, 2, " + "9" * 4301 + "  x", '{"a": ' + "9" * 4301, "[[[[" * 10 + "]]]]" * 10,
    '"\\u0080\\u00ff\\u0100\\uffff"', '"\\u007f\\u001f\\u0001"', '{"\\u00e9": "\\n"}',
    "[1.0, 2.50, -3.25e2, 1e22, 1e21, 1e-4, 1e-5]", "123.456e-789",
    "[0.30000000000000004, 1.7976931348623157e308, 2.2250738585072014e-308]",
    "1.7976931348623158e308", "1.7976931348623159e308", '{"a": [1, {"b": []}], "c": {}}',
    '[1, "2", [3], {"4": 5}]', '"\\u002F\\u005c"', "[0.5e1, 5E-1, -0e0]", "1.0E+400", "-0e-0",
    '{"a":1 , "b" :2}', "[[1,2],[3,[4,[5]]]]",
]
table("JSON", "(input, json.dumps(json.loads(input)) or the exception class)",
      [(j, exc(lambda: json.dumps(json.loads(j)))) for j in JSON])

VALUES = ["null", "true", "false", "0", "1", "-1", "1.0", "0.0", "-0.0", "1.5", "NaN",
          "Infinity", "-Infinity", "100000000000000000000", "1e20", "1e23",
          "100000000000000000000000", "9007199254740993", "9007199254740992.0",
          "9007199254740992", '""', '"a"', '"1"', '"ab"', "[]", "[1]", "[1.0]", "[true]",
          "[NaN]", '["a", 1]', "{}", '{"a": 1}', '{"a": 1.0}', '{"a": NaN}',
          '{"a": 1, "b": 2}', '{"b": 2, "a": 1}', '{"a": [NaN, {"b": NaN}]}', "[[NaN]]",
          "-9223372036854775808", "-9223372036854775808.0", "9223372036854775807",
          "9223372036854775808", "9223372036854775808.0", "9223372036854775807.0",
          "-100000000000000000000", "-1e20", "1e400", "0.5", "2"]
rows = []
for a in VALUES:
    for b in VALUES:
        rows.append((a, b, str(json.loads(a) == json.loads(b))))
table("EQ", "(a, b, str(json.loads(a) == json.loads(b)))", rows)

CONTAINERS = ['[1, "a", null, 2.5, [1], {"k": 1}, NaN]', "[]", '[true]', '[1.0]', "[[NaN]]",
              '{"a": 1, "1": 2, "": 3}', "{}", '"hello"', '""', '"a\\u00e9b"', "null", "true",
              "1", "1.5", "100000000000000000000"]
ITEMS = ["1", "1.0", "true", "false", "0", '"a"', '"1"', '""', '"ell"', '"hello!"', '"\\u00e9"',
         "null", "2.5", "NaN", "[1]", "[NaN]", '{"k": 1}', "{}", "[]", "Infinity",
         "100000000000000000000", "1e20", '"k"']
table("CONTAINS", "(container, item, str(json.loads(item) in json.loads(container)) or exception)",
      [(c, i, exc(lambda: str(json.loads(i) in json.loads(c)))) for c in CONTAINERS for i in ITEMS])

OTHERS = ['[1, "a", null]', "[]", '{"a": 1, "b": [2], "c": null}', "{}", '"abc"', '""',
          '"\\u00e9\\ud83d\\udcc8\\ud800"', "null", "true", "false", "0", "12", "1.5", "NaN",
          '{"k": 0}', '{"k": null}', '{"K": 1}', '{"a": {"k": 2}}', "[\"k\"]", '"k"']
table("TO_LIST", "(input, json.dumps(list(json.loads(input))) or exception)",
      [(j, exc(lambda: json.dumps(list(json.loads(j))))) for j in OTHERS])
table("GETITEM_K", "(input, json.dumps(json.loads(input)['k']) or exception)",
      [(j, exc(lambda: json.dumps(json.loads(j)["k"]))) for j in OTHERS])
table("GET_K", "(input, json.dumps(json.loads(input).get('k')) or exception)",
      [(j, exc(lambda: json.dumps(json.loads(j).get("k")))) for j in OTHERS])
table("TRUTHY", "(input, str(bool(json.loads(input))), type(...).__name__)",
      [(j, str(bool(json.loads(j))), type(json.loads(j)).__name__) for j in OTHERS + VALUES])

REPRS = OTHERS + VALUES + [
    '{"a": [1, 2.5, NaN, Infinity, "x", null, true]}', '"it\'s"', '"say \\"hi\\""',
    '"both \' and \\""', '"\\\\ \\n \\t \\r \\u0000 \\u001f \\u007f"',
    '"\\u0080 \\u00a0 \\u00ad \\u00e9 \\u0378 \\u2028 \\u200b \\ue000 \\uffff"',
    '"\\ud83d\\udcc8 \\udb40\\udc01 \\udbff\\udfff \\ud800 \\udfff"', '"\\u3000\\u1680 \\u2000"',
    '{"k\'": "v\\""}', "[1e16, 1e-5, 0.0001, 123456789012345678, 1.2345678901234568e+17]",
    '[[], {}, [[]], {"a": {}}]', '"\\u0301\\u0600\\u061c\\ufeff\\ud7ff"',
]
table("STR_REPR", "(input, str(json.loads(input)), repr(json.loads(input)))",
      [(j, str(json.loads(j)), repr(json.loads(j))) for j in REPRS])

INT_STRS = [" 42 ", "+7", "-0", "1_000", "1__0", "_1", "1_", "\u0663\u0664", "\U0001D7CE\U0001D7FF",
            "\u00b2", "\u216b", "\u3000-5\u3000", "\x1c5", "5\x1c", "\x0b5\x0c", "\x855\xa0", "- 5",
            "+-5", "", " ", "0x10", "1e3", "1.0", "00", "0_0", "007", "9" * 4300, "9" * 4301,
            "0" * 4300, "0" * 4301, "1" * 19 + "0", "-9223372036854775808",
            "-9223372036854775809", "9223372036854775807", "9223372036854775808", "12a",
            "\uff11\uff12", "\u0e51", "5\x00", "\u0661_\u0662", "+_1", "1_\u0662", "\u200b1",
            "1\u2029", "\t\n\r 8 \r\n\t", "\x7f1", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", "--1", "+",
            "-", "1 2", "١ ٢", "\u00a0\u2007\u202f9"]
INTS = [json.dumps(s) for s in INT_STRS] + [
    "1.9", "-1.9", "1e20", "1e300", "-1e300", "-0.0", "0.0", "123456789.99",
    "9.223372036854776e18", "-9.223372036854776e18", "9.2233720368547748e18", "NaN",
    "Infinity", "-Infinity", "5e-324", "0.9999999999999999", "1.7976931348623157e308",
    "true", "false", "null", "[]", "{}", "[1]", '{"1": 1}', "42", "-42",
    "123456789012345678901234567890", "-123456789012345678901234567890"]
table("INT", "(input, str(int(json.loads(input))) or exception)",
      [(j, exc(lambda: str(int(json.loads(j))))) for j in INTS])

SCHEMES = ["http://x", "h://", "://x", "_://", "a_b9://", "\u00e9://", "\u0663://", "\u216b://",
           "a\u0301://", "a-b://", "a b://", "http:/", "http:", "HTTP://", "", "a://b",
           "\u4e2d\u6587://", "a\u200d://", "x\u00b2://", "ab:///", "\u00aa://", "a.b://",
           "1://", " http://", "http ://", "http://", "\u02b0://", "\u01c5://", "\u0903://",
           "\u00bd://", "a\u00b7://", "\U0001D7CE://", "\U00010400://", "x\ue000://"]
table("SCHEME", "(s, str(re.match(r'^\\w+://', s) is not None))",
      [(s, str(__import__("re").match(r"^\w+://", s) is not None)) for s in SCHEMES])

FLOATS = []
import random
rnd = random.Random(20240521)
for _ in range(300):
    FLOATS.append(__import__("struct").unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0])
for _ in range(100):
    FLOATS.append(rnd.uniform(-1e6, 1e6))
for e in range(-330, 310, 7):
    FLOATS.append(float("1e%d" % e) * rnd.random())
FLOATS += [1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 0.1, 0.2, 0.3, 2.0**53, 2.0**63, 2.0**64]
table("FLOATS", "(float.hex(x), json.dumps(x)): bit patterns and their json.dumps text",
      [(x.hex(), json.dumps(x)) for x in FLOATS])
