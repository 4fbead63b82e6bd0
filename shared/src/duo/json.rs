//! Reading the few JSON fields the client checks without building a `serde_json::Value`.
//!
//! Verifying a token response used to parse the body and the ID token's claims into
//! `serde_json::Map`s: one allocation per key and string, and most of the time verification
//! took (issue #10). These readers walk the same JSON with the same parser and keep only the
//! fields asked for, borrowing strings from the input when they have no escapes.
//!
//! They accept exactly what `serde_json::from_slice::<Value>` accepts: everything goes through
//! `serde_json`'s `deserialize_any`/`deserialize_map` (same grammar, UTF-8 and escape checks,
//! number range and nesting limit; `IgnoredAny` is *not* used, it skips the nesting limit and
//! the number range), and a repeated key keeps its last value, as a `Map` does. The values a
//! check reads mean what `Value`'s accessors said: a missing key and `null` are the same
//! ([`Field::Null`]), and integers are told apart from floats as `serde_json::Number` does.

use serde::Deserializer as _;
use serde::de::{self, Deserialize, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// One JSON value, reduced to what a check needs; nested values are validated and dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Field<'a> {
    /// `null`, or the key is absent.
    #[default]
    Null,
    /// A string (borrowed from the input unless it had escapes).
    Str(Cow<'a, str>),
    /// A non-negative integer (`serde_json`'s `PosInt`).
    PosInt(u64),
    /// A negative integer (`serde_json`'s `NegInt`).
    NegInt(i64),
    /// A number with a fraction or an exponent, a boolean, or an object.
    Other,
    /// An array: its length, and its first element when that is a string.
    Array {
        /// The number of elements.
        len: usize,
        /// The first element, if it is a string.
        first: Option<Cow<'a, str>>,
    },
}

impl Field<'_> {
    /// Like `Value::as_str`.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Like `Value::as_i64`.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::PosInt(n) => i64::try_from(n).ok(),
            Self::NegInt(n) => Some(n),
            _ => None,
        }
    }

    /// Like `Value::as_u64`.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::PosInt(n) => Some(n),
            _ => None,
        }
    }

    /// Like `Value::is_null` (a missing key is `Null` too).
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The string, owned, if this is a string.
    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }
}

/// The fields of one JSON object that a reader keeps.
pub(crate) trait ObjectFields<'de>: Default {
    /// Reads the value of `key` with `map.next_value` and returns `true`, or returns `false`
    /// (without reading) to have the value validated and skipped.
    ///
    /// # Errors
    /// The parser's error, when the value is not valid JSON.
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

/// Parses `json`, which must be one JSON object and nothing else, into `T`'s fields.
/// `None` exactly when `serde_json::from_slice::<Value>` would fail or give a non-object.
pub(crate) fn read_object<'de, T: ObjectFields<'de>>(json: &'de [u8]) -> Option<T> {
    // One UTF-8 check of the whole input instead of one per string (`from_slice` checks each
    // string it reads). Same answers: outside strings, JSON is ASCII.
    let json = std::str::from_utf8(json).ok()?;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let fields = (&mut deserializer).deserialize_map(ObjectVisitor(PhantomData)).ok()?;
    deserializer.end().ok()?;
    Some(fields)
}

/// An object's fields, read as a nested value: any other JSON type gives the defaults.
pub(crate) struct Nested<T>(pub(crate) T);

impl<'de, T: ObjectFields<'de>> Deserialize<'de> for Nested<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NestedVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: ObjectFields<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut fields = T::default();
        while let Some(Key(key)) = map.next_key()? {
            if !fields.read(&key, &mut map)? {
                map.next_value::<Skip>()?;
            }
        }
        Ok(fields)
    }
}

/// Visits any JSON value; a non-object is skipped and gives `T::default()`.
struct NestedVisitor<T>(PhantomData<T>);

macro_rules! visit_scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok($value)
        }
    };
}

impl<'de, T: ObjectFields<'de>> Visitor<'de> for NestedVisitor<T> {
    type Value = Nested<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    visit_scalars!(Nested(T::default()));

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectVisitor(PhantomData).visit_map(map).map(Nested)
    }
}

/// An object key, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Any JSON value, fully validated (nesting limit included) and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    visit_scalars!(Skip);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        // `serde_json` calls this only for negative integers; keep `Number`'s split anyway.
        Ok(u64::try_from(v).map_or(Field::NegInt(v), Field::PosInt))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::PosInt(v))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(first) = seq.next_element::<Field<'de>>()? else {
            return Ok(Field::Array { len: 0, first: None });
        };
        let mut len = 1;
        while seq.next_element::<Skip>()?.is_some() {
            len += 1;
        }
        let first = match first {
            Field::Str(s) => Some(s),
            _ => None,
        };
        Ok(Field::Array { len, first })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Field::Other)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::Value;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[derive(Default)]
    struct Probe<'a> {
        a: Field<'a>,
        inner: Option<Field<'a>>,
    }

    #[derive(Default)]
    struct Inner<'a> {
        b: Field<'a>,
    }

    impl<'de> ObjectFields<'de> for Inner<'de> {
        fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
            match key {
                "b" => self.b = map.next_value()?,
                _ => return Ok(false),
            }
            Ok(true)
        }
    }

    impl<'de> ObjectFields<'de> for Probe<'de> {
        fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
            match key {
                "a" => self.a = map.next_value()?,
                "inner" => self.inner = Some(map.next_value::<Nested<Inner<'de>>>()?.0.b),
                _ => return Ok(false),
            }
            Ok(true)
        }
    }

    fn value_accepts(json: &str) -> bool {
        matches!(serde_json::from_str::<Value>(json), Ok(Value::Object(_)))
    }

    /// The reader accepts and rejects what `serde_json::Value` does, repeated keys included.
    #[test]
    #[wasm_bindgen_test]
    fn read_object_accepts_exactly_what_value_accepts() {
        let deep = format!("{{\"x\": {}1{}}}", "[".repeat(200), "]".repeat(200));
        let cases = [
            r#"{"a": 1}"#,
            r#"{"a": 1} "#,
            r#"{"a": 1} x"#,
            r#"{"a": 1}{}"#,
            "[1]",
            "null",
            "\"a\"",
            "",
            r#"{"a": 1e400}"#,
            r#"{"x": 1e400}"#,
            r#"{"x": -1e400}"#,
            r#"{"x": "\ud800"}"#,
            r#"{"x": "\ud83d\ude00"}"#,
            r#"{"x": "\q"}"#,
            "{\"x\": \"tab\there\"}",
            r#"{"x": [1, {"y": [true, null]}], "a": "s"}"#,
            r#"{"x": 18446744073709551616}"#,
            r#"{"x": 01}"#,
            r#"{"a": 1,}"#,
            &deep,
        ];
        for json in cases {
            let read = read_object::<Probe<'_>>(json.as_bytes()).is_some();
            assert_eq!(read, value_accepts(json), "{json}");
        }
        assert!(read_object::<Probe<'_>>(&[b'{', b'"', 0xff, b'"', b':', b'1', b'}']).is_none());
    }

    #[test]
    #[wasm_bindgen_test]
    fn fields_keep_the_last_value_and_value_semantics() {
        let probe = read_object::<Probe<'_>>(br#"{"a": "x", "a": 7, "z": {}}"#).unwrap();
        assert_eq!(probe.a, Field::PosInt(7));
        assert_eq!(probe.a.as_i64(), Some(7));
        let probe = read_object::<Probe<'_>>(br#"{"a": 7, "a": null}"#).unwrap();
        assert!(probe.a.is_null());
        let probe = read_object::<Probe<'_>>(br#"{"a": "e\u0301"}"#).unwrap();
        assert_eq!(probe.a.as_str(), Some("e\u{301}"));
        let probe = read_object::<Probe<'_>>(br#"{"a": -3}"#).unwrap();
        assert_eq!((probe.a.as_i64(), probe.a.as_u64()), (Some(-3), None));
        let probe = read_object::<Probe<'_>>(br#"{"a": 18446744073709551615}"#).unwrap();
        assert_eq!((probe.a.as_i64(), probe.a.as_u64()), (None, Some(u64::MAX)));
        for other in ["1.0", "1e3", "true", "{}"] {
            let json = format!("{{\"a\": {other}}}");
            assert_eq!(read_object::<Probe<'_>>(json.as_bytes()).unwrap().a, Field::Other);
        }
        let probe = read_object::<Probe<'_>>(br#"{"a": ["x", 1, [2]]}"#).unwrap();
        assert_eq!(probe.a, Field::Array { len: 3, first: Some("x".into()) });
        let probe = read_object::<Probe<'_>>(br#"{"a": [1, "x"]}"#).unwrap();
        assert_eq!(probe.a, Field::Array { len: 2, first: None });
        let probe = read_object::<Probe<'_>>(br#"{"inner": {"b": "y", "c": 1}}"#).unwrap();
        assert_eq!(probe.inner, Some(Field::Str("y".into())));
        let probe = read_object::<Probe<'_>>(br#"{"inner": {"b": "y"}, "inner": [1]}"#).unwrap();
        assert_eq!(probe.inner, Some(Field::Null));
    }
}
