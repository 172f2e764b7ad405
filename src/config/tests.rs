//! Tests of `config`.

use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn defaults_work_on_a_fresh_machine() {
    let config = Config::from_sources(None, env_of(&[])).expect("defaults are valid");
    assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
    assert!(config.database_url.starts_with("sqlite://"));
    assert_eq!(config.admin_user, "admin");
    assert_eq!(config.sweep_interval_seconds, 60);
}

#[test]
fn environment_overrides_the_file() {
    let file = "bind = \"127.0.0.1:9000\"\nsweep_interval = 30\nadmin_user = \"root\"\n";
    let config = Config::from_sources(Some(file), env_of(&[("SLAWATCH_BIND", "localhost:9100")])).expect("valid");
    assert_eq!(config.bind.to_string(), "127.0.0.1:9100");
    assert_eq!(config.sweep_interval_seconds, 30);
    assert_eq!(config.admin_user, "root");
}

#[test]
fn debug_output_shows_no_secret() {
    let config = Config::from_sources(
        Some("admin_password = \"hunter2-admin-password\""),
        env_of(&[
            ("SLAWATCH_JWT_SECRET", "a-jwt-secret-of-at-least-32-characters!"),
            ("DATABASE_URL", "postgres://slawatch:db-password-42@db.internal/slawatch"),
            ("DD_EMAIL_URL", "smtps://mailer:smtp-password-7@mail.internal:465/?from=sla@golemtrust.am"),
            ("SLAWATCH_METRICS_TOKEN", "a-metrics-token-of-at-least-32-characters"),
        ]),
    )
    .expect("valid");
    let shown = format!("{config:?}");
    for secret in ["hunter2", "a-jwt-secret", "db-password-42", "smtp-password-7", "a-metrics-token"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("db.internal") && shown.contains("mail.internal"), "{shown}");
}

#[test]
fn bad_values_are_named() {
    let err = Config::from_sources(None, env_of(&[("SLAWATCH_SWEEP_INTERVAL", "soon")])).expect_err("invalid");
    assert!(err.to_string().contains("SLAWATCH_SWEEP_INTERVAL"));
    assert!(Config::from_sources(None, env_of(&[("SLAWATCH_JWT_SECRET", "short")])).is_err());
    assert!(Config::from_sources(Some("unknown_key = 1"), env_of(&[])).is_err());
    assert!(Config::from_sources(None, env_of(&[("SLAWATCH_BIND", "nowhere")])).is_err());
    let err = Config::from_sources(None, env_of(&[("SLAWATCH_SQLITE_CACHE_MIB", "0")])).expect_err("no cache");
    assert!(err.to_string().contains("SLAWATCH_SQLITE_CACHE_MIB"), "{err}");
}

#[test]
fn sqlite_memory_is_set_from_the_file_and_the_environment() {
    let file = "sqlite_cache_mib = 16\nsqlite_mmap_mib = 256\nsqlite_writer_cache_mib = 2\n";
    let env = env_of(&[("SLAWATCH_SQLITE_MMAP_MIB", "0"), ("SLAWATCH_SQLITE_WRITER_CACHE_MIB", "32")]);
    let config = Config::from_sources(Some(file), env).expect("valid");
    assert_eq!(config.sqlite_memory, SqliteMemory { cache_mib: 16, mmap_mib: 0, writer_cache_mib: 32 });
    let defaults = SqliteMemory { cache_mib: 1, mmap_mib: 0, writer_cache_mib: 4 };
    assert_eq!(Config::default().sqlite_memory, defaults);
    let err = Config::from_sources(None, env_of(&[("SLAWATCH_SQLITE_WRITER_CACHE_MIB", "0")])).expect_err("none");
    assert!(err.to_string().contains("SLAWATCH_SQLITE_WRITER_CACHE_MIB"), "{err}");
}

#[test]
fn concurrent_scans_are_set_within_their_range() {
    assert_eq!(Config::default().concurrent_scans, None, "by the backend and the machine");
    let config = Config::from_sources(Some("concurrent_scans = 3\n"), env_of(&[])).expect("valid");
    assert_eq!(config.concurrent_scans, Some(3));
    let config = Config::from_sources(None, env_of(&[("SLAWATCH_CONCURRENT_SCANS", "1")])).expect("valid");
    assert_eq!(config.concurrent_scans, Some(1));
    let err = Config::from_sources(None, env_of(&[("SLAWATCH_CONCURRENT_SCANS", "0")])).expect_err("none");
    assert!(err.to_string().contains("SLAWATCH_CONCURRENT_SCANS"), "{err}");
}

/// Every environment variable this file reads, from its source.
fn environment_names() -> Vec<String> {
    let source = include_str!("../config.rs");
    let mut names: Vec<String> = source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| {
            text.len() > 3
                && text.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && (text.starts_with("SLAWATCH_") || ["DATABASE_URL", "DD_EMAIL_URL", "RUST_LOG"].contains(text))
                && *text != "SLAWATCH_"
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_setting_has_a_toml_key_named_by_the_rule_and_a_readme_row() {
    let names = environment_names();
    assert!(names.len() >= 30, "{names:?}");
    let readme = include_str!("../../README.md");
    for name in &names {
        let key = toml_key(name);
        // A table where a value belongs: a known key says "invalid type", an unknown one "unknown field".
        let err = toml::from_str::<FileSettings>(&format!("{key} = {{}}")).expect_err("a table is no value");
        assert!(!err.to_string().contains("unknown field"), "{name}: no `{key}` key in slawatch.toml: {err}");
        assert!(readme.contains(&format!("| `{name}` |")), "{name} has no row in README's settings table");
    }
}

#[test]
fn the_file_sets_what_the_environment_does() {
    let file = "dd_email_url = \"smtp://mail.internal:25/?from=sla@golemtrust.am\"\nrust_log = \"debug\"\n\
                admin_password = \"from-the-file-password\"\n";
    let config = Config::from_sources(Some(file), env_of(&[])).expect("valid");
    assert_eq!(config.email_url.as_deref(), Some("smtp://mail.internal:25/?from=sla@golemtrust.am"));
    assert_eq!(config.log_filter.as_deref(), Some("debug"));
    assert_eq!(config.admin_password_origin, "admin_password in slawatch.toml");
    let legacy = Config::from_sources(Some("email_url = \"smtp://old.internal:25/\""), env_of(&[])).expect("valid");
    assert_eq!(legacy.email_url.as_deref(), Some("smtp://old.internal:25/"));
    let from_env =
        Config::from_sources(Some(file), env_of(&[("SLAWATCH_ADMIN_PASSWORD", "from-the-environment")])).expect("ok");
    assert_eq!(from_env.admin_password_origin, "SLAWATCH_ADMIN_PASSWORD");
    assert_eq!(from_env.admin_password.as_deref(), Some("from-the-environment"));
    let err = Config::from_sources(Some("sweep_interval = 0"), env_of(&[])).expect_err("invalid");
    assert!(err.to_string().contains("sweep_interval in slawatch.toml"), "{err}");
}
