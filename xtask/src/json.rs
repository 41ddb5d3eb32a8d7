//! Just enough JSON writing for the reports of `xtask` and of the bench
//! crate, which includes this same file (no dependency needed).

use std::fmt::Write;

/// A JSON value to write.
#[derive(Clone, Debug)]
#[allow(dead_code)] // each of the two crates uses some of the variants
pub enum Value {
    /// A string.
    Str(String),
    /// A number; one that is not finite becomes `null`.
    Num(f64),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A value already written as JSON (an object or an array).
    Raw(String),
}

/// Writes `s` as a JSON string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes one object with its fields in the given order.
pub fn object(fields: &[(&str, Value)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Str(s) => string(s),
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Raw(r) => r.clone(),
                Value::Num(n) if n.is_finite() => format!("{n}"),
                Value::Num(_) => "null".to_owned(),
            };
            format!("{}:{v}", string(k))
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Writes a list of already written values, one per line.
pub fn array(items: &[String]) -> String {
    if items.is_empty() {
        return "[]\n".to_owned();
    }
    format!("[\n  {}\n]\n", items.join(",\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings() {
        assert_eq!(string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
        assert_eq!(array(&[]), "[]\n");
    }

    #[test]
    fn writes_objects_in_order() {
        let o = object(&[
            ("b", Value::Int(1)),
            ("a", Value::Str("x".into())),
            ("n", Value::Num(f64::NAN)),
            ("t", Value::Bool(true)),
            ("r", Value::Raw("[1,2]".into())),
        ]);
        assert_eq!(o, r#"{"b":1,"a":"x","n":null,"t":true,"r":[1,2]}"#);
    }
}
