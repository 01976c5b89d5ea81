//! Nodes built straight from records the request's cache already holds. A page of awards with their
//! recipients (and the units above member recipients), or of members with their chapters and bases, has every
//! record it shows in the cache once the page's prefetch has run; async-graphql would still resolve each field of each node, recipient and unit as a future
//! of its own and merge the results (the largest part of an award page's CPU in a profile, `bench/`). Here the
//! response objects are built in one pass instead.
//!
//! Only what can be answered exactly as the resolvers answer it is built: leaves each type lists
//! ([`Prefetch::LEAVES`], read from the record alone), `__typename`, links to records found in the cache,
//! inline fragments on the object's own type (or on another type of the union, skipped). Anything else, a
//! field with arguments or directives, a named fragment, a response key given twice, a record the cache does
//! not hold, gives `None`, and the page resolves field by field as before.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::{Name, Value};

use super::award::Award;
use super::batch::{Batcher, Cached};
use super::connection::Prefetch;
use super::loaders::{BaseById, ChapterById, MemberById, MemberNamesById, ProvinceById};
use super::member::member_leaf;
use super::tree::{Base, Chapter, Province};

/// The object of runtime type `ty` for the fields of `set` that apply to it, each field's value from `field`;
/// an inline fragment on one of `others` (the union's other types) does not apply and is skipped.
fn object(
    set: &SelectionSet,
    ty: &str,
    others: &[&str],
    field: &mut dyn FnMut(&Field) -> Option<Value>,
) -> Option<Value> {
    let mut map = IndexMap::with_capacity(set.items.len());
    collect(set, ty, others, field, &mut map)?;
    Some(Value::Object(map))
}

/// CollectFields for what [`object`] builds, in selection order.
fn collect(
    set: &SelectionSet,
    ty: &str,
    others: &[&str],
    field: &mut dyn FnMut(&Field) -> Option<Value>,
    map: &mut IndexMap<Name, Value>,
) -> Option<()> {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let f = &f.node;
                let key = &f.response_key().node;
                if !f.directives.is_empty() || !f.arguments.is_empty() || map.contains_key(key) {
                    return None;
                }
                let value = if f.name.node == "__typename" {
                    Value::String(ty.to_owned())
                } else {
                    field(f)?
                };
                map.insert(key.clone(), value);
            }
            Selection::InlineFragment(fragment) => {
                let fragment = &fragment.node;
                if !fragment.directives.is_empty() {
                    return None;
                }
                match &fragment.type_condition {
                    Some(condition) if condition.node.on.node != ty => {
                        if !others.contains(&condition.node.on.node.as_str()) {
                            return None;
                        }
                    }
                    _ => collect(&fragment.selection_set.node, ty, others, field, map)?,
                }
            }
            Selection::FragmentSpread(_) => return None,
        }
    }
    Some(())
}

/// The leaf `f` through `leaf`, if `f` selects nothing under it; a link is not a leaf.
fn leaf(f: &Field, leaf: impl FnOnce(&str) -> Option<Value>) -> Option<Option<Value>> {
    f.selection_set
        .node
        .items
        .is_empty()
        .then(|| leaf(f.name.node.as_str()))
}

/// A link to a record every node has (a member's chapter, …): built from the cache, or not at all (its
/// resolver would have to load it, or answer an error).
fn required<V>(found: Cached<V>, build: impl FnOnce(&V) -> Option<Value>) -> Option<Value> {
    match found {
        Cached::Found(record) => build(&record),
        Cached::Absent | Cached::Unknown => None,
    }
}

/// A link that may be `null` (an award's recipient): `null` where the cache knows the record is missing, as its
/// resolver answers; not built when the cache does not know it.
fn nullable<V>(found: Cached<V>, build: impl FnOnce(&V) -> Option<Value>) -> Option<Value> {
    match found {
        Cached::Found(record) => build(&record),
        Cached::Absent => Some(Value::Null),
        Cached::Unknown => None,
    }
}

/// An award node: its leaves and its recipient.
pub fn award(cache: &Batcher, a: &entity::award::Model, set: &SelectionSet) -> Option<Value> {
    object(set, "Award", &[], &mut |f| {
        leaf(f, |name| Award::leaf(a, name)).unwrap_or_else(|| match f.name.node.as_str() {
            "recipient" => recipient(cache, a, &f.selection_set.node),
            _ => None,
        })
    })
}

/// The types of the `AwardRecipient` union, each with the others.
const MEMBER_OTHERS: &[&str] = &["Chapter", "Base", "Province"];
const CHAPTER_OTHERS: &[&str] = &["Member", "Base", "Province"];
const BASE_OTHERS: &[&str] = &["Member", "Chapter", "Province"];
const PROVINCE_OTHERS: &[&str] = &["Member", "Chapter", "Base"];

/// An award's recipient, `null` where its resolver answers `null`: a member outside the viewer's scope (the
/// page's statement or the member loader, both under that scope, found it missing).
fn recipient(cache: &Batcher, a: &entity::award::Model, set: &SelectionSet) -> Option<Value> {
    use entity::award::RecipientType as Kind;
    let id = a.recipient_id;
    match a.recipient_type {
        Kind::Member => {
            // Every member field built here reads only the names' columns (`member_leaf`, the chapter's and
            // base's ids), so a member the page brought with those columns alone serves as well as a whole one.
            let found = match cache.lookup(&MemberNamesById(id)) {
                Cached::Found(m) => Cached::Found(m),
                Cached::Absent | Cached::Unknown => cache.lookup(&MemberById(id)),
            };
            nullable(found, |m| member(cache, m, set, MEMBER_OTHERS))
        }
        Kind::Chapter => nullable(cache.lookup(&ChapterById(id)), |c| {
            chapter(cache, c, set, CHAPTER_OTHERS)
        }),
        Kind::Base => nullable(cache.lookup(&BaseById(id)), |b| base(cache, b, set, BASE_OTHERS)),
        Kind::Province => nullable(cache.lookup(&ProvinceById(id)), |p| province(p, set, PROVINCE_OTHERS)),
    }
}

/// A member: its leaves (each read from the names' columns only), its chapter and its base. Also a page's
/// member node (`Member`'s [`Prefetch::direct`]).
pub fn member(cache: &Batcher, m: &entity::member::Model, set: &SelectionSet, others: &[&str]) -> Option<Value> {
    object(set, "Member", others, &mut |f| {
        leaf(f, |name| member_leaf(m, name)).unwrap_or_else(|| {
            let under = &f.selection_set.node;
            match f.name.node.as_str() {
                "chapter" => required(cache.lookup(&ChapterById(m.chapter_id)), |c| {
                    chapter(cache, c, under, &[])
                }),
                "base" => required(cache.lookup(&BaseById(m.base_id)), |b| base(cache, b, under, &[])),
                _ => None,
            }
        })
    })
}

fn chapter(cache: &Batcher, c: &entity::chapter::Model, set: &SelectionSet, others: &[&str]) -> Option<Value> {
    object(set, "Chapter", others, &mut |f| {
        leaf(f, |name| Chapter::unit_leaf(c, name)).unwrap_or_else(|| {
            let under = &f.selection_set.node;
            match f.name.node.as_str() {
                "base" => required(cache.lookup(&BaseById(c.base_id)), |b| base(cache, b, under, &[])),
                "province" => required(cache.lookup(&ProvinceById(c.province_id)), |p| province(p, under, &[])),
                _ => None,
            }
        })
    })
}

fn base(cache: &Batcher, b: &entity::base::Model, set: &SelectionSet, others: &[&str]) -> Option<Value> {
    object(set, "Base", others, &mut |f| {
        leaf(f, |name| Base::base_leaf(b, name)).unwrap_or_else(|| match f.name.node.as_str() {
            "province" => required(cache.lookup(&ProvinceById(b.province_id)), |p| {
                province(p, &f.selection_set.node, &[])
            }),
            _ => None,
        })
    })
}

fn province(p: &entity::province::Model, set: &SelectionSet, others: &[&str]) -> Option<Value> {
    object(set, "Province", others, &mut |f| {
        leaf(f, |name| Province::unit_leaf(p, name)).unwrap_or(None)
    })
}
