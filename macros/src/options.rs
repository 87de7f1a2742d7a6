//! The rules for the `#[experiment]` options that also arrive at run time from the
//! environment (`tags` and `LABBOOK_TAGS`, `system = "5s"` and `LABBOOK_SYSTEM_INTERVAL`):
//! one file, included by the macros and by the runtime, so the compile-time and run-time
//! messages can never disagree.

use std::time::Duration;

/// The most characters of a tag's key (MLflow's limit for a tag key).
pub const MAX_TAG_KEY_LEN: usize = 250;
/// The most characters of a tag's value.
pub const MAX_TAG_VALUE_LEN: usize = 5000;
/// The shortest interval between two system samples.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Splits a tag written `key` or `key=value` (a bare `key` has the empty value).
pub fn split_tag(tag: &str) -> (&str, &str) {
    tag.split_once('=').unwrap_or((tag, ""))
}

/// Why `tag` (`key` or `key=value`) cannot be used, or `None` when it can.
pub fn tag_problem(tag: &str) -> Option<String> {
    let (key, value) = split_tag(tag);
    let key = key.trim();
    if key.is_empty() {
        return Some(format!(
            "the tag `{tag}` has no key; write tags like `baseline` or `optimizer=adam`"
        ));
    }
    if key.chars().count() > MAX_TAG_KEY_LEN {
        return Some(format!(
            "a tag's key is at most {MAX_TAG_KEY_LEN} characters; `{}…` is longer",
            key.chars().take(20).collect::<String>()
        ));
    }
    if value.chars().count() > MAX_TAG_VALUE_LEN {
        return Some(format!(
            "a tag's value is at most {MAX_TAG_VALUE_LEN} characters; the value of `{key}` is longer"
        ));
    }
    if let Some(c) = tag.chars().find(|c| c.is_control() || *c == ',') {
        return Some(format!(
            "the tag `{key}` holds {c:?}; tags cannot hold commas or control characters"
        ));
    }
    None
}

/// Parses an interval such as `500ms`, `5s`, `1.5m` or `1h` (a bare number is seconds).
pub fn interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    let seconds = number.parse::<f64>().map(|n| n * scale).unwrap_or(f64::NAN);
    if !seconds.is_finite() {
        return Err(format!(
            "`{text}` is not an interval; write one like `500ms`, `10s`, `2m` or `1h`"
        ));
    }
    let interval = Duration::from_secs_f64(seconds);
    if interval < MIN_INTERVAL {
        return Err(format!(
            "`{text}` is shorter than the shortest sampling interval, {}ms",
            MIN_INTERVAL.as_millis()
        ));
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_take_the_usual_units() {
        assert_eq!(interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(interval("10"), Ok(Duration::from_secs(10)));
        assert_eq!(interval("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            interval("5 weeks").unwrap_err(),
            "`5 weeks` is not an interval; write one like `500ms`, `10s`, `2m` or `1h`"
        );
        assert_eq!(
            interval("10ms").unwrap_err(),
            "`10ms` is shorter than the shortest sampling interval, 100ms"
        );
    }

    #[test]
    fn tags_are_a_key_and_an_optional_value() {
        assert_eq!(split_tag("optimizer=adam"), ("optimizer", "adam"));
        assert_eq!(split_tag("baseline"), ("baseline", ""));
        assert_eq!(split_tag("expr=a=b"), ("expr", "a=b"));
        assert_eq!(tag_problem("baseline"), None);
        assert_eq!(tag_problem("lr=0.1"), None);
        assert_eq!(
            tag_problem("=x").unwrap(),
            "the tag `=x` has no key; write tags like `baseline` or `optimizer=adam`"
        );
        assert_eq!(
            tag_problem("a,b").unwrap(),
            "the tag `a,b` holds ','; tags cannot hold commas or control characters"
        );
    }
}
