//! Processes started together on a new database (issue 17, point 2): two `serve`, `migrate` and two `demo`
//! at once all succeed — migrations and the demo load run one process at a time, the others wait and find
//! the work done. On SQLite by default, on PostgreSQL with `TEST_DATABASE_URL` (CI runs both).

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{ADMIN_PASSWORD, JWT_SECRET, fresh_database};

/// A child process killed when dropped (a failing assertion must not leave a server behind).
struct Running(Option<Child>);

impl Running {
    fn spawn(mut command: Command) -> Self {
        Self(Some(command.spawn().expect("slawatch starts")))
    }

    fn exited(&mut self) -> bool {
        self.0.as_mut().is_none_or(|child| child.try_wait().expect("status").is_some())
    }

    /// Waits (up to a minute) for it to finish; what it printed.
    fn output(mut self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.exited() {
            assert!(Instant::now() < deadline, "still running after a minute");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.0.take().expect("a child").wait_with_output().expect("output")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn slawatch(database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slawatch"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("SLAWATCH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SLAWATCH_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test]
async fn serve_migrate_and_demo_started_together_on_a_new_database_all_succeed() {
    for round in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(&dir).await;
        let serve = ["serve", "--bind", "127.0.0.1:0", "--no-scheduler"];
        let servers: Vec<Running> = (0..2).map(|_| Running::spawn(slawatch(&database_url, &serve))).collect();
        let commands: Vec<Running> = [&["migrate"][..], &["demo"], &["demo"]]
            .iter()
            .map(|args| Running::spawn(slawatch(&database_url, args)))
            .collect();
        let outputs: Vec<Output> = commands.into_iter().map(Running::output).collect();
        for output in &outputs {
            assert!(
                output.status.success(),
                "round {round}: a command failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let said: Vec<String> = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
        let loaded = said.iter().filter(|s| s.contains("Loaded the demo scenario")).count();
        let already = said.iter().filter(|s| s.contains("Demo data already loaded")).count();
        assert_eq!((loaded, already), (1, 1), "round {round}: one demo loads, the other finds it: {said:?}");
        // Both servers got through start-up (migrations, first admin) and are still serving.
        std::thread::sleep(Duration::from_millis(500));
        for mut server in servers {
            if server.exited() {
                let output = server.output();
                panic!("round {round}: a server exited: {}", String::from_utf8_lossy(&output.stderr));
            }
        }
    }
}
