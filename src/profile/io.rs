//! Canonical reading and writing of a profile folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Behaviour, Profile, Relationship, Sequence, Settings, Source, Table, FORMAT_VERSION};

/// Why a profile could not be read or written. One line each, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("no profile at {path}: pass --profile with a folder written by `dentsynth introspect`")]
    Missing { path: String },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: format version {found} is not supported (this dentsynth reads version {FORMAT_VERSION}): re-run `dentsynth introspect`")]
    Version { path: String, found: u32 },
    #[error("{path}: {message}")]
    Inconsistent { path: String, message: String },
    #[error("cannot write the profile to {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `profile.json` as stored: the profile without its tables, plus their names.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDocument {
    format_version: u32,
    name: String,
    source: Source,
    settings: Settings,
    #[serde(default)]
    sequences: Vec<Sequence>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    behaviour: BTreeMap<String, Behaviour>,
    tables: Vec<String>,
}

/// The files of a profile, by relative path, as canonical text.
pub type RenderedProfile = BTreeMap<PathBuf, String>;

/// SHA-256 of the profile's canonical files (paths and contents, in path order), hex.
pub fn content_hash(profile: &Profile) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, text) in render(profile) {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    format!("{:x}", hasher.finalize())
}

/// Renders a profile to its canonical files.
pub fn render(profile: &Profile) -> RenderedProfile {
    let document = ProfileDocument {
        format_version: profile.format_version,
        name: profile.name.clone(),
        source: profile.source.clone(),
        settings: profile.settings.clone(),
        sequences: profile.sequences.clone(),
        relationships: profile.relationships.clone(),
        behaviour: profile.behaviour.clone(),
        tables: profile.tables.keys().cloned().collect(),
    };
    let mut files = RenderedProfile::new();
    files.insert(PathBuf::from("profile.json"), canonical_json(&document));
    for (name, table) in &profile.tables {
        files.insert(table_path(name), canonical_json(table));
    }
    files
}

fn table_path(name: &str) -> PathBuf {
    PathBuf::from("tables").join(format!("{name}.json"))
}

/// Sorted keys (serde_json's map is a BTreeMap), two-space indentation, trailing newline.
fn canonical_json<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("profile types serialise");
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// Writes a profile to `dir` all at once: into a sibling temporary folder first, then swapped in,
/// so that a failure never leaves a partial profile. Files in `dir` that introspect does not own
/// (README.md, calibration/) are carried over.
pub fn save(profile: &Profile, dir: &Path) -> Result<(), ProfileError> {
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| ProfileError::Write { path, source }
    };
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(write_error(parent))?;
    let file_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| {
        fs::create_dir_all(staging.join("tables")).map_err(write_error(&staging))?;
        for (relative, text) in render(profile) {
            let path = staging.join(&relative);
            fs::write(&path, text).map_err(write_error(&path))?;
        }
        // Carry over what introspect does not own.
        if dir.is_dir() {
            for entry in fs::read_dir(dir).map_err(write_error(dir))?.flatten() {
                let name = entry.file_name();
                if name == "profile.json" || name == "tables" {
                    continue;
                }
                copy_recursively(&entry.path(), &staging.join(&name)).map_err(write_error(&entry.path()))?;
            }
        }
        let retired = parent.join(format!(".{file_name}.old-{}", std::process::id()));
        if dir.exists() {
            fs::rename(dir, &retired).map_err(write_error(dir))?;
        }
        if let Err(error) = fs::rename(&staging, dir) {
            let _ = fs::rename(&retired, dir);
            return Err(write_error(dir)(error));
        }
        let _ = fs::remove_dir_all(&retired);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn copy_recursively(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)?.flatten() {
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

/// Reads a profile folder.
pub fn load(dir: &Path) -> Result<Profile, ProfileError> {
    let profile_path = dir.join("profile.json");
    if !profile_path.is_file() {
        return Err(ProfileError::Missing {
            path: dir.display().to_string(),
        });
    }
    load_with(&profile_path.display().to_string(), |relative| {
        fs::read_to_string(dir.join(relative)).ok()
    })
}

/// Reads a profile from files held in memory (the built-in profile embedded in the binary).
pub fn load_embedded(name: &str, files: &BTreeMap<PathBuf, &str>) -> Result<Profile, ProfileError> {
    load_with(&format!("<built-in {name}>/profile.json"), |relative| {
        files.get(relative).map(|text| text.to_string())
    })
}

fn load_with(profile_label: &str, read: impl Fn(&Path) -> Option<String>) -> Result<Profile, ProfileError> {
    let text = read(Path::new("profile.json")).ok_or_else(|| ProfileError::Missing {
        path: profile_label.to_string(),
    })?;
    // The version first, so that an old profile gets the version message rather than a field error.
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: u32,
    }
    let version: VersionOnly = parse(profile_label, &text)?;
    if version.format_version != FORMAT_VERSION {
        return Err(ProfileError::Version {
            path: profile_label.to_string(),
            found: version.format_version,
        });
    }
    let document: ProfileDocument = parse(profile_label, &text)?;
    super::behaviour::check_all(&document.behaviour).map_err(|message| ProfileError::Inconsistent {
        path: profile_label.to_string(),
        message,
    })?;
    let base = profile_label.trim_end_matches("profile.json");
    let mut tables = BTreeMap::new();
    for name in &document.tables {
        let relative = table_path(name);
        let label = format!("{base}{}", relative.display());
        let text = read(&relative).ok_or_else(|| ProfileError::Inconsistent {
            path: profile_label.to_string(),
            message: format!("lists table {name} but {label} is missing"),
        })?;
        let table: Table = parse(&label, &text)?;
        if table.name != *name {
            return Err(ProfileError::Inconsistent {
                path: label,
                message: format!("holds table {} but is filed as {name}", table.name),
            });
        }
        tables.insert(name.clone(), table);
    }
    Ok(Profile {
        format_version: document.format_version,
        name: document.name,
        source: document.source,
        settings: document.settings,
        sequences: document.sequences,
        relationships: document.relationships,
        behaviour: document.behaviour,
        tables,
    })
}

fn parse<T: for<'de> Deserialize<'de>>(label: &str, text: &str) -> Result<T, ProfileError> {
    serde_json::from_str(text).map_err(|error| ProfileError::Parse {
        path: label.to_string(),
        line: error.line(),
        column: error.column(),
        message: strip_position(&error.to_string()),
    })
}

/// serde_json appends " at line L column C"; the path prefix already carries the position.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Column, ColumnKind, TableStats, TableStructure};

    fn sample() -> Profile {
        let mut tables = BTreeMap::new();
        tables.insert(
            "patient".to_string(),
            Table {
                name: "patient".to_string(),
                structure: TableStructure {
                    columns: vec![Column {
                        name: "PatNum".into(),
                        position: 1,
                        data_type: "bigint".into(),
                        kind: ColumnKind::Integer,
                        nullable: false,
                        default: None,
                        identity: None,
                        max_length: None,
                        numeric_precision: Some(64),
                        numeric_scale: Some(0),
                    }],
                    primary_key: None,
                    unique_constraints: vec![],
                    check_constraints: vec![],
                    indexes: vec![],
                    foreign_keys: vec![],
                },
                stats: TableStats {
                    row_count: 3,
                    ..Default::default()
                },
                reference: None,
            },
        );
        Profile {
            format_version: FORMAT_VERSION,
            name: "test".into(),
            source: Source {
                description: "test".into(),
                database: "db".into(),
                system_identifier: None,
                schema: "raw".into(),
                server_version: "15".into(),
                opendental: false,
            },
            settings: Settings {
                min_group_size: 10,
                sample_rows: None,
                calibration: vec![],
            },
            sequences: vec![],
            relationships: vec![],
            behaviour: Default::default(),
            tables,
        }
    }

    fn scratch(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dentsynth-profile-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn save_then_load_round_trips_and_keeps_foreign_files() {
        let dir = scratch("roundtrip");
        let profile = sample();
        save(&profile, &dir).unwrap();
        fs::write(dir.join("README.md"), "kept").unwrap();
        save(&profile, &dir).unwrap();
        assert_eq!(load(&dir).unwrap(), profile);
        assert_eq!(fs::read_to_string(dir.join("README.md")).unwrap(), "kept");
        let text = fs::read_to_string(dir.join("profile.json")).unwrap();
        assert!(text.ends_with("}\n"));
        // Keys are sorted.
        let format = text.find("\"format_version\"").unwrap();
        let name = text.find("\"name\"").unwrap();
        assert!(format < name);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_file_names_file_line_and_column() {
        let dir = scratch("malformed");
        save(&sample(), &dir).unwrap();
        fs::write(
            dir.join("tables/patient.json"),
            "{\n  \"name\": \"patient\",\n  oops\n}\n",
        )
        .unwrap();
        let error = load(&dir).unwrap_err().to_string();
        assert!(error.contains("tables/patient.json:3:"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_profile_says_what_to_pass() {
        let error = load(Path::new("/nonexistent/profile")).unwrap_err().to_string();
        assert!(error.contains("--profile"), "{error}");
    }
}
