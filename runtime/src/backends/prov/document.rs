//! A small PROV-JSON writer (<https://www.w3.org/submissions/prov-json/>): elements by id,
//! relations with `_:` ids, and the literal forms the `prov` package reads back.

use serde_json::{json, Map, Value};

/// A PROV-JSON document being built.
#[derive(Debug, Default)]
pub struct Document {
    prefix: Map<String, Value>,
    /// `entity`, `activity`, `agent` and each relation, by the key PROV-JSON gives it.
    sections: Map<String, Value>,
    relations: usize,
}

/// The attributes of one element or relation.
pub type Attributes = Map<String, Value>;

impl Document {
    pub fn new(prefixes: &[(&str, &str)]) -> Document {
        let mut doc = Document::default();
        for (prefix, iri) in prefixes {
            doc.prefix.insert((*prefix).into(), (*iri).into());
        }
        doc
    }

    fn section(&mut self, key: &str) -> &mut Map<String, Value> {
        self.sections
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("sections are objects")
    }

    pub fn has(&self, kind: &str, id: &str) -> bool {
        self.sections.get(kind).and_then(|s| s.get(id)).is_some()
    }

    /// Declares an `entity`, `activity` or `agent`; a second declaration adds attributes.
    pub fn element(&mut self, kind: &str, id: &str, attributes: Attributes) {
        let element = self
            .section(kind)
            .entry(id)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(existing) = element {
            existing.extend(attributes);
        }
    }

    /// Adds a relation such as `used` with its roles (`prov:activity`, `prov:entity`, …).
    pub fn relation(&mut self, kind: &str, roles: &[(&str, &str)], extra: Attributes) {
        self.relations += 1;
        let id = format!("_:{kind}{}", self.relations);
        let mut body: Attributes = roles
            .iter()
            .map(|(role, id)| ((*role).to_owned(), Value::from(*id)))
            .collect();
        body.extend(extra);
        self.section(kind).insert(id, Value::Object(body));
    }

    pub fn into_json(self) -> Value {
        let mut out = Map::new();
        out.insert("prefix".into(), Value::Object(self.prefix));
        out.extend(self.sections);
        Value::Object(out)
    }
}

/// A qualified name as a value: `{"$": "provml:Metric", "type": "prov:QUALIFIED_NAME"}`.
pub fn name(qualified: &str) -> Value {
    json!({"$": qualified, "type": "prov:QUALIFIED_NAME"})
}

pub fn typed(lexical: impl Into<String>, xsd: &str) -> Value {
    json!({"$": lexical.into(), "type": xsd})
}

/// An `xsd:dateTime` in UTC with milliseconds.
pub fn time_text(unix: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_millis(time).to_string()
}

pub fn time(unix: f64) -> Value {
    typed(time_text(unix), "xsd:dateTime")
}

pub fn long(n: impl Into<i128>) -> Value {
    typed(n.into().to_string(), "xsd:long")
}

/// An `xsd:double` in its lexical form (`NaN`, `INF`, `-INF` included).
pub fn double(v: f64) -> Value {
    let text = if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "INF" } else { "-INF" }.to_owned()
    } else {
        ryu::Buffer::new().format_finite(v).to_owned()
    };
    typed(text, "xsd:double")
}

/// A JSON value as a PROV literal: typed numbers and booleans, plain strings, and JSON
/// text for lists, objects and null.
pub fn literal(value: &Value) -> Value {
    match value {
        Value::Bool(b) => typed(b.to_string(), "xsd:boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => typed(n.to_string(), "xsd:long"),
        Value::Number(n) => double(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Value::from(s.as_str()),
        other => Value::from(other.to_string()),
    }
}

/// `s` as the local part of an identifier: letters, digits and `_-./` stay, everything else
/// is percent-encoded, so any name and host makes a valid id.
pub fn local(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/') {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Attributes from `(key, value)` pairs.
pub fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_lexically_valid() {
        assert_eq!(double(f64::NEG_INFINITY)["$"], "-INF");
        assert_eq!(double(0.25)["$"], "0.25");
        assert_eq!(literal(&json!(3))["type"], "xsd:long");
        assert_eq!(literal(&json!(true))["$"], "true");
        assert_eq!(literal(&json!([1, 2])), json!("[1,2]"));
        assert_eq!(time_text(0.5), "1970-01-01T00:00:00.500Z");
    }

    #[test]
    fn ids_keep_paths_and_escape_the_rest() {
        assert_eq!(local("train/loss"), "train/loss");
        assert_eq!(local("top 1 acc"), "top%201%20acc");
        assert_eq!(local("é"), "%C3%A9");
    }

    #[test]
    fn relations_get_distinct_blank_ids() {
        let mut doc = Document::new(&[("ex", "http://example.org/")]);
        doc.element("activity", "run", Attributes::new());
        doc.element("entity", "e", Attributes::new());
        doc.relation(
            "used",
            &[("prov:activity", "run"), ("prov:entity", "e")],
            Attributes::new(),
        );
        doc.relation(
            "used",
            &[("prov:activity", "run"), ("prov:entity", "e")],
            Attributes::new(),
        );
        let json = doc.into_json();
        assert_eq!(json["used"].as_object().unwrap().len(), 2);
        assert_eq!(json["prefix"]["ex"], "http://example.org/");
    }
}
