//! generate: profile -> demo database.
//!
//! Plan (table order, row targets) -> value generation -> COPY encoding and loading. Writes only
//! the target. Must not import `introspect` or `verify`; randomness comes only from `rng`, and "now"
//! is the explicit `as_of` input.

pub mod schema;
