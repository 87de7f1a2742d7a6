//! `#[derive(Serialize, Deserialize)]` for users who depend on labbook but not on serde.
//!
//! serde's own derive names the `serde` crate in its output, so it needs `serde` among the
//! user's dependencies. These derives write a private copy of the type with serde's
//! `remote` attribute pointing at the user's type and `crate` pointing at labbook's copy of
//! serde, then implement the trait for the user's type through it. `#[serde(...)]`
//! attributes keep working.
//!
//! Like `#[experiment(crate = path)]`, `#[labbook(crate = path)]` on the type says where
//! labbook is for a crate that reaches it under another path; the default is `::labbook`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::{parse_quote, Attribute, Data, DeriveInput, Fields, GenericParam, Path, Token};

use crate::attr::{self, Attr};
use crate::errors::Errors;

#[derive(Clone, Copy)]
pub enum Trait {
    Serialize,
    Deserialize,
}

pub fn derive(item: TokenStream, which: Trait) -> TokenStream {
    match syn::parse2::<DeriveInput>(item) {
        Ok(input) => expand(input, which),
        Err(e) => e.to_compile_error(),
    }
}

/// `crate = path` from the type's `#[labbook(...)]` attributes.
fn crate_path(attrs: &[Attribute], errors: &mut Errors) -> Option<Path> {
    let mut krate = Attr::new("labbook", "crate");
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("labbook")) {
        let parser = |input: ParseStream<'_>| {
            while !input.is_empty() {
                if input.peek(Token![crate]) {
                    let key: Token![crate] = input.parse()?;
                    input.parse::<Token![=]>()?;
                    krate.set(key.span, input.parse()?, errors);
                } else {
                    let key: syn::Ident = syn::ext::IdentExt::parse_any(input)?;
                    return Err(syn::Error::new(
                        key.span(),
                        format_args!(
                            "unknown option `{key}` in `#[labbook]`; expected `crate = path`"
                        ),
                    ));
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(())
        };
        let parsed = match &attr.meta {
            syn::Meta::List(list) => parser.parse2(list.tokens.clone()),
            _ => Err(syn::Error::new(
                attr::path_span(attr),
                "`#[labbook]` takes its options in parentheses: `#[labbook(crate = path)]`",
            )),
        };
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    krate.get().map(|krate| krate.value)
}

fn expand(input: DeriveInput, which: Trait) -> TokenStream {
    let mut errors = Errors::default();
    let krate = crate_path(&input.attrs, &mut errors)
        .map_or_else(|| quote!(::labbook), |path| path.to_token_stream());
    if !errors.is_empty() {
        return errors.into_compile_errors();
    }
    let serde = quote!(#krate::__private::serde);
    let ident = &input.ident;
    let shadow = format_ident!("__LabbookSerde{}", ident, span = Span::mixed_site());
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    // serde gives the remote path the copy's own generics, so it names the type alone.
    let remote = ident.to_string();
    let mut copy = input.clone();
    copy.ident = shadow.clone();
    copy.vis = syn::Visibility::Inherited;
    copy.attrs = serde_only(&input.attrs);
    match &mut copy.data {
        Data::Struct(data) => strip_fields(&mut data.fields),
        Data::Enum(data) => {
            for variant in &mut data.variants {
                variant.attrs = serde_only(&variant.attrs);
                strip_fields(&mut variant.fields);
            }
        }
        Data::Union(_) => {
            return syn::Error::new(
                ident.span(),
                "unions cannot derive labbook's `Serialize`/`Deserialize`",
            )
            .to_compile_error()
        }
    }
    // A path's tokens need no spaces between them: `reexport::labbook::__private::serde`.
    let crate_path = serde.to_string().replace(' ', "");
    let (derive, imp) = match which {
        Trait::Serialize => {
            let mut generics = input.generics.clone();
            for param in &mut generics.params {
                if let GenericParam::Type(ty) = param {
                    ty.bounds.push(parse_quote!(#serde::Serialize));
                }
            }
            let (bounded, _, _) = generics.split_for_impl();
            let imp = quote! {
                impl #bounded #serde::Serialize for #ident #type_generics #where_clause {
                    fn serialize<__S: #serde::Serializer>(&self, serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                        #shadow::serialize(self, serializer)
                    }
                }
            };
            (quote!(#serde::Serialize), imp)
        }
        Trait::Deserialize => {
            let mut generics = input.generics.clone();
            generics.params.insert(0, parse_quote!('__de));
            for param in &mut generics.params {
                if let GenericParam::Type(ty) = param {
                    ty.bounds.push(parse_quote!(#serde::Deserialize<'__de>));
                }
            }
            let (bounded, _, _) = generics.split_for_impl();
            let imp = quote! {
                impl #bounded #serde::Deserialize<'__de> for #ident #type_generics #where_clause {
                    fn deserialize<__D: #serde::Deserializer<'__de>>(deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                        #shadow::deserialize(deserializer)
                    }
                }
            };
            (quote!(#serde::Deserialize), imp)
        }
    };
    let _ = impl_generics;
    quote! {
        const _: () = {
            #[derive(#derive)]
            #[serde(crate = #crate_path, remote = #remote)]
            #[allow(dead_code, non_camel_case_types)]
            #copy
            #imp
        };
    }
}

fn strip_fields(fields: &mut Fields) {
    for field in fields.iter_mut() {
        field.attrs = serde_only(&field.attrs);
    }
}

fn serde_only(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn a_generic_type_is_named_without_its_parameters() {
        let output = derive(
            quote!(
                struct Hp<T> {
                    scale: T,
                }
            ),
            Trait::Serialize,
        )
        .to_string();
        assert!(output.contains("remote = \"Hp\""), "{output}");
    }

    #[test]
    fn the_crate_path_is_labbook_unless_the_type_says() {
        let output = derive(
            quote!(
                struct Hp;
            ),
            Trait::Serialize,
        )
        .to_string();
        assert!(
            output.contains("impl :: labbook :: __private :: serde :: Serialize for Hp"),
            "{output}"
        );
        assert!(
            output.contains(r#"crate = "::labbook::__private::serde""#),
            "{output}"
        );
        let output = derive(
            quote!(
                #[labbook(crate = reexport::labbook)]
                struct Hp;
            ),
            Trait::Deserialize,
        )
        .to_string();
        assert!(
            output.contains(
                "reexport :: labbook :: __private :: serde :: Deserialize < '__de > for Hp"
            ),
            "{output}"
        );
        assert!(
            output.contains(r#"crate = "reexport::labbook::__private::serde""#),
            "{output}"
        );
        assert!(!output.contains("# [labbook"), "{output}");
        assert!(!output.contains("> :: labbook"), "{output}");
    }

    #[test]
    fn the_labbook_attribute_takes_only_crate() {
        let output = derive(
            quote!(
                #[labbook(krate = x)]
                struct Hp;
            ),
            Trait::Serialize,
        )
        .to_string();
        assert!(
            output.contains("unknown option `krate` in `#[labbook]`; expected `crate = path`"),
            "{output}"
        );
        let output = derive(
            quote!(
                #[labbook(crate = a, crate = b)]
                struct Hp;
            ),
            Trait::Serialize,
        )
        .to_string();
        assert!(
            output.contains("duplicate option `crate` in `#[labbook]`"),
            "{output}"
        );
    }
}
