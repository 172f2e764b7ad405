//! The README's examples are part of the product: this test reads README.md's fenced `graphql` and `sh`
//! blocks in order and runs them against a fresh server, so the README cannot drift from what slawatch does.
//!
//! - `graphql` blocks: each operation in turn, as `admin` (the first, `login`, with the test's password in
//!   place of `…`); every one must answer without errors.
//! - The set-up block: `cargo run --release -- serve --demo` runs the built binary the same way (in an empty
//!   directory, on a free port) and the demo is checked against what the README says it contains;
//!   `cargo test --workspace` is the command running this test, so it is the one line not run.
//! - Other `sh` blocks: run by bash (`set -euo pipefail`) with `slawatch` the built binary on the test
//!   server's database, `http://127.0.0.1:8080` the test server, `DEFECTDOJO_API_TOKEN` an admin API token,
//!   `curl` failing on an HTTP error, and `zap-report.xml` (a ZAP report of the fixtures) in its directory. They need curl and python3: they run when `SLAWATCH_PYTHON_TESTS`
//!   is set (CI), the `graphql` blocks always.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, spawn_app};
use crate::instances::free_port;

/// A fenced block of README.md.
#[derive(Debug)]
struct Block {
    language: String,
    text: String,
    /// The line of its opening fence (1-based), for messages.
    line: usize,
}

/// The fenced blocks that start at the beginning of a line (indented ones, e.g. in a list, are
/// configuration snippets for other programs, not commands).
fn blocks(readme: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in readme.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(language)) => {
                open = Some(Block { language: language.trim().to_owned(), text: String::new(), line: index + 1 });
            }
            (Some(_), Some("")) => found.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed fence");
    found
}

/// The operations of a `graphql` block: each top-level `{ … }` with what precedes it (`mutation`,
/// `query($x: …)`), comments (`#` outside strings) removed.
fn operations(block: &str) -> Vec<String> {
    let mut operations = Vec::new();
    let mut current = String::new();
    let (mut depth, mut in_string, mut escaped, mut in_comment) = (0usize, false, false, false);
    for c in block.chars() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                current.push(c);
            }
            continue;
        }
        if in_string {
            current.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => {
                in_string = true;
                current.push(c);
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.checked_sub(1).expect("balanced braces in the README's GraphQL");
                current.push(c);
                if depth == 0 {
                    operations.push(current.trim().to_owned());
                    current.clear();
                }
            }
            _ => current.push(c),
        }
    }
    assert!(current.trim().is_empty(), "text after the last operation: {current:?}");
    operations
}

#[test]
fn the_readme_is_split_into_its_operations() {
    let block = "mutation { a(x: \"}#{\") { b } }   # a comment with { braces\n\n# \"Quoted\" notes\n{ c(filter: {d: 1}) { e } }\n";
    assert_eq!(operations(block), vec!["mutation { a(x: \"}#{\") { b } }", "{ c(filter: {d: 1}) { e } }"]);
    let readme = "text\n```graphql\n{ a }\n```\n  ```yaml\n  x: 1\n  ```\n```sh\nls\n```\n";
    let found = blocks(readme);
    assert_eq!(
        found.iter().map(|b| (b.language.as_str(), b.line)).collect::<Vec<_>>(),
        vec![("graphql", 2), ("sh", 8)]
    );
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md")
}

#[tokio::test]
async fn every_example_in_the_readme_runs_as_written() {
    let app = spawn_app().await;
    let shell_too = std::env::var("SLAWATCH_PYTHON_TESTS").is_ok_and(|v| !v.is_empty());
    if !shell_too {
        eprintln!("SLAWATCH_PYTHON_TESTS is not set: the README's sh blocks (curl, python3) are skipped");
    }
    let mut token: Option<String> = None;
    let mut ran = (0, 0);
    for block in blocks(&readme()) {
        match block.language.as_str() {
            "graphql" => {
                for operation in operations(&block.text) {
                    let query = operation.replace("\"…\"", &format!("{ADMIN_PASSWORD:?}"));
                    let answer = app.gql(token.as_deref(), &query, json!({})).await.0;
                    assert!(
                        answer.get("errors").is_none(),
                        "README.md line {}: {operation}\nanswered {answer}",
                        block.line
                    );
                    if let Some(jwt) = answer["data"]["login"]["token"].as_str() {
                        token = Some(jwt.to_owned());
                    }
                    assert!(token.is_some(), "README.md line {}: the first example signs in", block.line);
                    ran.0 += 1;
                }
            }
            "sh" if block.text.contains("cargo test --workspace") => set_up_block(&block).await,
            "sh" if shell_too => {
                run_shell(&app, &block).await;
                ran.1 += 1;
            }
            "sh" => {}
            other => {
                panic!("README.md line {}: a ```{other} block the README test does not know how to run", block.line)
            }
        }
    }
    assert!(ran.0 >= 10, "the README's GraphQL examples were found: {ran:?}");
}

/// Runs an `sh` block against the test server (on the blocking pool: the server runs on this thread).
async fn run_shell(app: &crate::helpers::TestApp, block: &Block) {
    let binary = Path::new(env!("CARGO_BIN_EXE_slawatch"));
    let work = tempfile::tempdir().expect("a working directory");
    // The "Importing scans" example uploads `zap-report.xml` from where it runs: a ZAP report of the fixtures.
    let report = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scans/zap/zap-results-first-scan.xml");
    std::fs::copy(report, work.path().join("zap-report.xml")).expect("a ZAP report to upload");
    let script = format!(
        "set -euo pipefail\ncurl() {{ command curl --fail-with-body --silent --show-error \"$@\"; }}\n{}",
        block.text.replace("http://127.0.0.1:8080", &app.address)
    );
    let path = format!("{}:{}", binary.parent().expect("bin dir").display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .current_dir(work.path())
        .env("PATH", path)
        .env("DATABASE_URL", &app.state.config.database_url)
        .env("DEFECTDOJO_API_TOKEN", &app.admin_api_token);
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("joined").expect("bash runs");
    assert!(
        output.status.success(),
        "README.md line {}: the sh block failed ({}):\n{}\nstdout:\n{}\nstderr:\n{}",
        block.line,
        output.status,
        block.text,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // A GraphQL request that fails still answers 200: its `errors` fail the example too.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("\"errors\""),
        "README.md line {}: the sh block got GraphQL errors:\n{stdout}",
        block.line
    );
}

/// The set-up block: `serve --demo` starts and holds what the README says the demo contains.
async fn set_up_block(block: &Block) {
    let commands: Vec<&str> = block
        .text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release -- serve --demo", "cargo test --workspace"],
        "README.md line {}: the set-up is exactly two commands",
        block.line
    );
    let work = tempfile::tempdir().expect("an empty working directory");
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
        .current_dir(work.path())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..600 {
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let checked = async {
        assert!(ready, "`serve --demo` became ready");
        assert!(
            work.path().join("slawatch.db").exists(),
            "the first start creates slawatch.db in the working directory"
        );
        let ask = |query: String, token: Option<String>| {
            let mut request = client.post(format!("{base}/graphql")).json(&json!({ "query": query }));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move { request.send().await.expect("an answer").json::<Value>().await.expect("JSON") }
        };
        // "users in every role (password `golem-trust-demo`: `cheery` superuser, …)"
        let login = ask(
            "mutation { login(username: \"cheery\", password: \"golem-trust-demo\") { token user { isSuperuser } } }"
                .to_owned(),
            None,
        )
        .await;
        assert_eq!(login["data"]["login"]["user"]["isSuperuser"], true, "{login}");
        let token = login["data"]["login"]["token"].as_str().map(str::to_owned);
        // "`Royal-Bank-Integration` on its own "Royal Bank" SLA profile (Critical 1 day, High 5, Medium 30, Low 90)"
        let royal = ask(
            "{ product(name: \"Royal-Bank-Integration\") { id slaConfiguration { id name critical high medium low } } }".to_owned(),
            token.clone(),
        )
        .await;
        assert_eq!(
            royal["data"]["product"]["slaConfiguration"],
            json!({ "id": royal["data"]["product"]["slaConfiguration"]["id"], "name": "Royal Bank", "critical": 1, "high": 5, "medium": 30, "low": 90 }),
            "{royal}"
        );
        for user in ["carrot", "dorfl", "angua", "otto", "nobby"] {
            let query =
                format!("mutation {{ login(username: \"{user}\", password: \"golem-trust-demo\") {{ token }} }}");
            let answer = ask(query, None).await;
            assert!(answer["data"]["login"]["token"].is_string(), "{user}: {answer}");
        }
        // "findings in every SLA state"
        let summary = ask("{ slaSummary { state count } }".to_owned(), token.clone()).await;
        let states: std::collections::BTreeSet<&str> = summary["data"]["slaSummary"]
            .as_array()
            .expect("a summary")
            .iter()
            .filter(|row| row["count"].as_i64().is_some_and(|n| n > 0))
            .filter_map(|row| row["state"].as_str())
            .collect();
        for state in ["ON_TRACK", "APPROACHING", "BREACHED", "MET", "MISSED"] {
            assert!(states.contains(state), "the demo has {state} findings: {summary}");
        }
        // "no notification routing, so it sends nothing anywhere"
        let routing = ask("{ notificationSettings(scope: SYSTEM) { event configured } }".to_owned(), token).await;
        let configured: Vec<&Value> = routing["data"]["notificationSettings"]
            .as_array()
            .expect("settings")
            .iter()
            .filter(|s| s["configured"] == true)
            .collect();
        assert!(configured.is_empty(), "the demo routes nothing: {routing}");
    };
    // The server is stopped whatever the checks found.
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(checked)).await;
    let _ = server.kill();
    let _ = server.wait();
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed);
    }
}
