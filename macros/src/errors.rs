//! Collects every error of one macro invocation so the user sees them all at once.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};

#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn into_compile_errors(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }

    /// Every message, in the order they were found.
    #[cfg(test)]
    pub fn messages(self) -> Vec<String> {
        self.0
            .into_iter()
            .flat_map(|all| all.into_iter().map(|e| e.to_string()))
            .collect()
    }
}
