//! The built-in default profile, `introspection/opendental/`, embedded in the binary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use include_dir::{include_dir, Dir};

use super::{load_embedded, Profile, ProfileError};

static OPENDENTAL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/introspection/opendental");

/// The built-in OpenDental profile.
pub fn builtin() -> Result<Profile, ProfileError> {
    let mut files: BTreeMap<PathBuf, &str> = BTreeMap::new();
    collect(&OPENDENTAL, &mut files);
    load_embedded("opendental", &files)
}

fn collect(dir: &'static Dir<'static>, files: &mut BTreeMap<PathBuf, &'static str>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            files.insert(file.path().to_path_buf(), text);
        }
    }
    for sub in dir.dirs() {
        collect(sub, files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profile_loads() {
        let profile = builtin().unwrap();
        assert_eq!(profile.name, "opendental");
        assert!(profile.source.opendental);
        assert_eq!(profile.tables.len(), 422);
    }
}
