//! slawatch: SLA deadlines of security findings, and the notifications around them.

pub mod cli;
pub mod cli_progress;
pub mod clock;
pub mod commands;
pub mod config;
pub mod db;
pub mod defectdojo;
pub mod domain;
pub mod entity;
pub mod error;
pub mod graphql;
pub mod jobs;
pub mod kept;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod report;
pub mod rest;
pub mod scans;
pub mod security;
pub mod service;
pub mod startup;
pub mod state;
pub mod web;

/// The layering ARCHITECTURE.md describes, checked so nobody has to remember it.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }

    fn sources(under: &[&str]) -> Vec<(PathBuf, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for part in under {
            let path = root.join(part);
            if path.is_dir() {
                rust_files(&path, &mut files);
            } else {
                files.push(path);
            }
        }
        files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).expect("readable"))).collect()
    }

    /// Handlers (GraphQL resolvers, REST, metrics, pages) call services; only services and jobs query the
    /// database. An entity's `Model` may be wrapped for output, but never queried from here.
    #[test]
    fn handlers_do_not_query_the_database() {
        for (path, text) in sources(&["graphql", "rest", "metrics/endpoint.rs", "web.rs"]) {
            for forbidden in ["sea_orm", "Entity::find", "Entity::update", "Entity::delete", "Entity::insert"] {
                assert!(
                    !text.contains(forbidden),
                    "{} uses {forbidden}: move the query into src/service",
                    path.display()
                );
            }
        }
    }

    /// What `AppState` holds (and `AppState` itself) sits below the use cases and the request handlers, so
    /// there is no import circle through `state`: none of it names `service`, `graphql`, `rest`, `jobs` or
    /// `state` (a service announces to `live` and fills `kept`; they never call back).
    #[test]
    fn what_the_state_holds_depends_on_no_use_case() {
        let held =
            ["state.rs", "kept", "live", "security", "metrics/mod.rs", "notify/mail.rs", "clock.rs", "config.rs"];
        for (path, text) in sources(&held) {
            for forbidden in ["crate::service", "crate::graphql", "crate::rest", "crate::jobs"] {
                assert!(
                    !text.contains(forbidden),
                    "{} uses {forbidden}: AppState's parts are below it",
                    path.display()
                );
            }
            let is_state = path.ends_with("state.rs");
            assert!(
                is_state || !text.contains("crate::state"),
                "{} names AppState: pass it what it needs",
                path.display()
            );
        }
    }

    /// The pure domain and the report parsers import neither the database nor the API layer.
    #[test]
    fn the_domain_is_pure() {
        for (path, text) in sources(&["domain", "scans", "defectdojo"]) {
            for forbidden in ["sea_orm", "async_graphql", "axum", "crate::entity", "crate::service"] {
                assert!(!text.contains(forbidden), "{} uses {forbidden}: the domain is pure", path.display());
            }
        }
    }

    /// Small files, each for one thing: none over 500 lines (tests of a big module go in its `tests.rs`).
    #[test]
    fn no_source_file_is_over_500_lines() {
        for (path, text) in sources(&[""]) {
            let lines = text.lines().count();
            assert!(lines <= 500, "{} has {lines} lines: split it by concern", path.display());
        }
    }

    /// A column holding another table's id is that table's typed id (`domain::ids`), so a product id cannot
    /// be passed where a finding's is wanted. Only the keys of rows nobody refers to by id stay plain.
    #[test]
    fn id_columns_are_typed() {
        let plain_keys = [
            "finding_note.rs",
            "finding_reviewer.rs",
            "notification_setting.rs",
            "sla_event.rs",
            "sla_profile_change.rs",
        ];
        for (path, text) in sources(&["entity"]) {
            for line in text.lines().map(str::trim) {
                let Some((name, kind)) = line.strip_prefix("pub ").and_then(|field| field.split_once(": ")) else {
                    continue;
                };
                let names_an_id = name == "id" || name.ends_with("_id") || name == "requested_by";
                let plain = kind.trim_end_matches(',').trim_start_matches("Option<").trim_end_matches('>') == "i32";
                let allowed = name == "id" && plain_keys.iter().any(|file| path.ends_with(file))
                    || path.ends_with("system_settings.rs");
                assert!(!(names_an_id && plain) || allowed, "{}: `{line}` should be a typed id", path.display());
            }
        }
    }

    /// Every type of the API says what it is (async-graphql's generated `…Connection` types aside).
    #[test]
    fn every_schema_type_has_a_description() {
        let sdl = crate::graphql::sdl();
        let lines: Vec<&str> = sdl.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(name) = ["type ", "input ", "enum ", "scalar ", "interface ", "union "]
                .iter()
                .find_map(|kind| line.strip_prefix(kind))
                .and_then(|rest| rest.split([' ', '{', '@']).next())
            else {
                continue;
            };
            if name.ends_with("Connection") {
                continue;
            }
            let previous = index.checked_sub(1).map_or("", |i| lines[i].trim());
            assert!(previous.ends_with('"'), "the schema type {name} has no description: put a /// doc on it");
        }
    }
}
