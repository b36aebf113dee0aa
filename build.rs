//! Rebuilds the crate when an embedded folder changes. `include_dir!` embeds `rules/` and
//! `introspection/opendental/`, but the compiler only tracks the files it saw: without this, a
//! new or deleted rule file would not reach the binary until something else changed.

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=introspection");
    println!("cargo:rerun-if-changed=build.rs");
}
