//! sea-orm models of the registry's tables, one module per table. No GraphQL here: the API wraps these models,
//! so a column rename cannot silently change the public schema.

pub mod account;
pub mod audit_event;
pub mod award;
pub mod award_proposal;
pub mod base;
pub mod chapter;
pub mod member;
pub mod province;
pub mod transfer;
pub mod yearly_rating;
