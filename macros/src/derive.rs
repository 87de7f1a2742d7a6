//! `#[derive(Serialize, Deserialize)]` for users who depend on labbook but not on serde.
//!
//! serde's own derive names the `serde` crate in its output, so it needs `serde` among the
//! user's dependencies. These derives write a private copy of the type with serde's
//! `remote` attribute pointing at the user's type and `crate` pointing at labbook's copy of
//! serde, then implement the trait for the user's type through it. `#[serde(...)]`
//! attributes keep working.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{parse_quote, Attribute, Data, DeriveInput, Fields, GenericParam};

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

fn expand(input: DeriveInput, which: Trait) -> TokenStream {
    let serde = quote!(::labbook::__private::serde);
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
    let crate_path = "::labbook::__private::serde";
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
}
