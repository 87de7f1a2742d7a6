//! Which types each `#[log]` kind accepts. A type that does not fit is a compile error
//! that says what to log instead.

use std::fmt::Display;

use serde::Serialize;

/// Values a `#[log(metric)]` site records: floats and integers (converted to `f64`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a `metric`",
    label = "not a number",
    note = "a `metric` takes `f32`, `f64` or an integer: log a text with `#[log(text)]`, a setting with `#[log(param)]`, or convert the value to a number first"
)]
pub trait Metric {
    /// The value as recorded. NaN and infinities stay as they are.
    fn to_f64(&self) -> f64;
}

macro_rules! metric_as_f64 {
    ($($ty:ty),*) => {$(
        impl Metric for $ty {
            #[inline]
            fn to_f64(&self) -> f64 {
                *self as f64
            }
        }
    )*};
}

metric_as_f64!(f32, f64, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl<T: Metric + ?Sized> Metric for &T {
    #[inline]
    fn to_f64(&self) -> f64 {
        (**self).to_f64()
    }
}

impl<T: Metric + ?Sized> Metric for &mut T {
    #[inline]
    fn to_f64(&self) -> f64 {
        (**self).to_f64()
    }
}

/// Values a `#[log(text)]` site records: anything that implements `Display`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as `text`",
    label = "does not implement `Display`",
    note = "`text` takes anything that implements `std::fmt::Display`: format it first (`format!(\"{{:?}}\", value)`) or log it as a `param`"
)]
pub trait Text {
    /// The text to record.
    fn to_text(&self) -> String;
}

impl<T: Display + ?Sized> Text for T {
    fn to_text(&self) -> String {
        self.to_string()
    }
}

/// Values a `#[log(param)]` site records: anything that implements `serde::Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as a `param`",
    label = "does not implement `Serialize`",
    note = "a `param` takes anything that implements `serde::Serialize`: add `#[derive(Serialize)]` to the type"
)]
pub trait Param {
    /// The value as JSON.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
}

impl<T: Serialize + ?Sized> Param for T {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// Types an `#[experiment]` can be configured with: anything that implements `Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `#[config]` of an experiment",
    label = "does not implement `Serialize`",
    note = "add `#[derive(Serialize)]` to the config type"
)]
pub trait Config {
    /// The config as JSON.
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
}

impl<T: Serialize + ?Sized> Config for T {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// Error types an experiment may return in `Err`: anything that implements `Display`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot describe a failed run",
    label = "does not implement `Display`",
    note = "an `#[experiment]` returning `Result<T, E>` records `E`'s `Display` text when it fails: implement `Display` for it or use `anyhow::Error`"
)]
pub trait FailureText {
    /// Why the run failed, as `info.json`'s `error` says it.
    fn failure_text(&self) -> String;
}

impl<E: Display + ?Sized> FailureText for E {
    fn failure_text(&self) -> String {
        format!("{self:#}")
    }
}
