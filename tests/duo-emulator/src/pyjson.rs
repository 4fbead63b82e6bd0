//! JSON written the way Duo's Python service writes it: `", "` between items and `": "` after
//! keys (`json.dumps` defaults), so byte-level comparisons against captured traffic line up.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Serializes `value` Python-style. Values built from `serde_json` types cannot fail to
/// serialize; should one ever fail, the result is `{}` rather than a panic.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, PythonFormatter);
    if value.serialize(&mut serializer).is_err() {
        return String::from("{}");
    }
    String::from_utf8(out).unwrap_or_else(|_| String::from("{}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn writes_python_separators() {
        let v = json!({"stat": "OK", "response": {"timestamp": 1, "list": [1, 2]}});
        assert_eq!(
            super::to_string(&v),
            r#"{"response": {"list": [1, 2], "timestamp": 1}, "stat": "OK"}"#
        );
    }
}
