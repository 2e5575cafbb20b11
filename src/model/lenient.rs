//! Field types that accept whatever JSON the API sends and never fail the record.
//!
//! The SmartAssist API drifts: numbers arrive as strings, booleans as `"YES"`, objects as `""`,
//! lists as `null`. DESIGN §1 says a field of an unexpected type is treated as absent and the
//! record still counts. Each wrapper here deserializes *any* JSON value: the expected shape
//! becomes a value, anything else becomes "absent" (or "unusable" where the catalog counts it in
//! `smartassist_exporter_rejected_values_total`). Strings borrow from the response body when
//! they have no escapes, so the hot path allocates little.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Implements the visitor methods for every JSON scalar, mapping each to `$absent`.
macro_rules! absent_scalars {
    ($absent:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

/// Consumes a whole JSON array without looking at it.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes a whole JSON object without looking at it.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// `str::trim`, without walking the string when it visibly needs no trimming: a string that
/// starts and ends with a printable ASCII character (nearly every API value) is its own trim.
/// Called for every string field of every record, so the shortcut matters.
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// A string field; any other JSON type is absent. Empty strings are kept (callers decide what
/// empty means for them, e.g. "no status" vs "no queue name").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LStr<'a>(pub Option<Cow<'a, str>>);

impl<'a> LStr<'a> {
    /// The string trimmed, or `None` when absent or blank.
    pub fn non_empty(&self) -> Option<&str> {
        self.0.as_deref().map(trim).filter(|s| !s.is_empty())
    }

    /// True when the field is a string with something other than white space in it.
    pub fn is_present(&self) -> bool {
        self.non_empty().is_some()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = LStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|_| LStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|_| LStr(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A numeric field (a duration or a score) as the API may send it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum LNum {
    /// Missing, `null`, `""`: nothing to observe and nothing wrong.
    #[default]
    Absent,
    /// A finite number, from a JSON number or a numeric string such as `"49"`.
    Value(f64),
    /// Present but not a finite number (`"abc"`, `true`, an object, `"1e999"`): counted as a
    /// rejected value and never observed.
    Unusable,
}

impl LNum {
    /// A numeric field sent as a string (`"49"`, `" 7.25 "`): blank is absent, a finite
    /// number is its value, anything else is unusable.
    pub fn from_text(text: &str) -> LNum {
        let t = text.trim();
        if t.is_empty() {
            return LNum::Absent;
        }
        t.parse::<f64>().map(finite).unwrap_or(LNum::Unusable)
    }

    /// The value when it is a finite number.
    pub fn value(self) -> Option<f64> {
        match self {
            LNum::Value(v) => Some(v),
            _ => None,
        }
    }
}

fn finite(v: f64) -> LNum {
    if v.is_finite() {
        LNum::Value(v)
    } else {
        LNum::Unusable
    }
}

impl<'de> Deserialize<'de> for LNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LNum;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LNum, E> {
                Ok(finite(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LNum, E> {
                Ok(finite(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LNum, E> {
                Ok(finite(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LNum, E> {
                Ok(LNum::from_text(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LNum, E> {
                Ok(LNum::Unusable)
            }
            fn visit_unit<E: de::Error>(self) -> Result<LNum, E> {
                Ok(LNum::Absent)
            }
            fn visit_none<E: de::Error>(self) -> Result<LNum, E> {
                Ok(LNum::Absent)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LNum, A::Error> {
                skip_seq(seq).map(|_| LNum::Unusable)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LNum, A::Error> {
                skip_map(map).map(|_| LNum::Unusable)
            }
        }
        d.deserialize_any(V)
    }
}

/// A yes/no field: JSON booleans, or strings `yes`/`no`/`true`/`false` in any case. Anything
/// else is absent (`None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LBool(pub Option<bool>);

impl LBool {
    /// A yes/no field sent as a string: `yes`/`true` or `no`/`false` in any case, trimmed;
    /// anything else is absent.
    pub fn from_text(text: &str) -> LBool {
        let t = text.trim();
        LBool(
            if t.eq_ignore_ascii_case("yes") || t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("no") || t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            },
        )
    }

    /// True only for an explicit yes.
    pub fn is_true(self) -> bool {
        self.0 == Some(true)
    }
}

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LBool, E> {
                Ok(LBool(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LBool, E> {
                Ok(LBool::from_text(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<LBool, E> {
                Ok(LBool(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LBool, A::Error> {
                skip_seq(seq).map(|_| LBool(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LBool, A::Error> {
                skip_map(map).map(|_| LBool(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object field; any other JSON type is absent. `T` must itself be lenient (every field one
/// of these wrappers with `#[serde(default)]`) so that no object content can fail it.
#[derive(Debug, Clone, PartialEq)]
pub struct LObj<T>(pub Option<T>);

impl<T> Default for LObj<T> {
    fn default() -> Self {
        LObj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LObj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LObj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| LObj(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|_| LObj(None))
            }
            absent_scalars!(LObj(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A list field; any other JSON type is absent (`None`). Elements use their own lenient type.
#[derive(Debug, Clone, PartialEq)]
pub struct LList<T>(pub Option<Vec<T>>);

impl<T> Default for LList<T> {
    fn default() -> Self {
        LList(None)
    }
}

impl<T> LList<T> {
    /// The elements, or nothing when the field is absent or not a list.
    pub fn items(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LList<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(LList(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|_| LList(None))
            }
            absent_scalars!(LList(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The number of elements of a list field whose contents we never read (e.g.
/// `ConsultingAgents`: one consult per entry). `None` when absent or not a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LCount(pub Option<usize>);

impl<'de> Deserialize<'de> for LCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(LCount(Some(n)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LCount, A::Error> {
                skip_map(map).map(|_| LCount(None))
            }
            absent_scalars!(LCount(None));
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_the_standard_trim() {
        for v in [
            "",
            " ",
            "x",
            " x",
            "x ",
            "\tx\n",
            "\u{a0}x\u{a0}",
            "\u{3000}",
            "a b",
            "\u{e9}",
            "\u{e9} ",
        ] {
            assert_eq!(trim(v), v.trim(), "{v:?}");
        }
    }

    fn s(json: &str) -> Option<String> {
        serde_json::from_str::<LStr>(json)
            .unwrap()
            .0
            .map(|c| c.into_owned())
    }

    #[test]
    fn strings_borrow_and_other_types_are_absent() {
        assert_eq!(s(r#""Voice""#).as_deref(), Some("Voice"));
        assert_eq!(s(r#""a\"b""#).as_deref(), Some("a\"b"));
        for other in ["1", "true", "null", "[1,2]", r#"{"a":1}"#, "-2.5"] {
            assert_eq!(s(other), None, "{other}");
        }
        let borrowed: LStr = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(borrowed.0, Some(Cow::Borrowed(_))));
        let blank: LStr = serde_json::from_str(r#""  ""#).unwrap();
        assert_eq!(blank.non_empty(), None);
    }

    #[test]
    fn numbers_accept_numeric_strings_and_flag_junk() {
        let n = |j: &str| serde_json::from_str::<LNum>(j).unwrap();
        assert_eq!(n("49"), LNum::Value(49.0));
        assert_eq!(n("-3"), LNum::Value(-3.0));
        assert_eq!(n("2.5"), LNum::Value(2.5));
        assert_eq!(n(r#""49""#), LNum::Value(49.0));
        assert_eq!(n(r#"" 7.25 ""#), LNum::Value(7.25));
        assert_eq!(n(r#""""#), LNum::Absent);
        assert_eq!(n("null"), LNum::Absent);
        assert_eq!(n(r#""abc""#), LNum::Unusable);
        assert_eq!(n(r#""NaN""#), LNum::Unusable);
        assert_eq!(n(r#""inf""#), LNum::Unusable);
        assert_eq!(n("true"), LNum::Unusable);
        assert_eq!(n("[1]"), LNum::Unusable);
        assert_eq!(n(r#"{"v":1}"#), LNum::Unusable);
        // Beyond f64 serde_json itself refuses the number; `decode_page` clamps it to the
        // largest f64 first (see `clamp_overflowing_numbers`), so it arrives here as that.
        assert!(serde_json::from_str::<LNum>("1e400").is_err());
        assert_eq!(
            n("18446744073709551616000"),
            LNum::Value(1.8446744073709552e22)
        );
    }

    #[test]
    fn booleans_accept_yes_no_true_false_in_any_case() {
        let b = |j: &str| serde_json::from_str::<LBool>(j).unwrap().0;
        assert_eq!(b("true"), Some(true));
        assert_eq!(b("false"), Some(false));
        assert_eq!(b(r#""YES""#), Some(true));
        assert_eq!(b(r#""no""#), Some(false));
        assert_eq!(b(r#""True""#), Some(true));
        assert_eq!(b(r#"" FALSE ""#), Some(false));
        assert_eq!(b(r#""maybe""#), None);
        assert_eq!(b("1"), None);
        assert_eq!(b("null"), None);
        assert_eq!(b("{}"), None);
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Inner<'a> {
        #[serde(borrow)]
        name: LStr<'a>,
    }

    #[test]
    fn objects_and_lists_of_the_wrong_type_are_absent() {
        let o: LObj<Inner> = serde_json::from_str(r#"{"name":"x","extra":[1,{"a":2}]}"#).unwrap();
        assert_eq!(o.0.unwrap().name.non_empty(), Some("x"));
        for other in [r#""""#, "null", "3", "[1,2]", "true"] {
            let o: LObj<Inner> = serde_json::from_str(other).unwrap();
            assert!(o.0.is_none(), "{other}");
        }
        let l: LList<LStr> = serde_json::from_str(r#"["a", 1, null, "b"]"#).unwrap();
        let got: Vec<_> = l.items().iter().map(|s| s.non_empty()).collect();
        assert_eq!(got, vec![Some("a"), None, None, Some("b")]);
        for other in [r#""""#, "null", "3", r#"{"a":[1]}"#] {
            let l: LList<LStr> = serde_json::from_str(other).unwrap();
            assert!(l.0.is_none(), "{other}");
            assert!(l.items().is_empty());
        }
        let c: LCount = serde_json::from_str(r#"[{"a":1}, 2, [3]]"#).unwrap();
        assert_eq!(c.0, Some(3));
        let c: LCount = serde_json::from_str(r#""""#).unwrap();
        assert_eq!(c.0, None);
    }
}
