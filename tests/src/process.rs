//! Finding the workspace's built binaries and running them as child processes that die with
//! the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The workspace's target directory: `CARGO_TARGET_DIR` (at run time, else at build time;
/// a relative one is taken from the workspace root), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf();
    let configured = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from));
    match configured {
        Some(d) if d.is_absolute() => d,
        Some(d) => workspace.join(d),
        None => workspace.join("target"),
    }
}

/// The path of the debug build of the workspace binary `name` (e.g. `veet-signaling`).
///
/// Panics with instructions when it is missing: `cargo test -p veet-tests` does not build
/// other packages' binaries, so run `cargo build --workspace` first.
pub fn binary_path(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    assert!(
        path.is_file(),
        "binary `{name}` not found at {}: run `cargo build --workspace` (or `cargo build --bin {name}`) before these tests",
        path.display()
    );
    path
}

/// A child process that is killed when this guard drops (also when a test panics). Its
/// stdout and stderr go to a log file, shown by [`log`](Self::log).
pub struct ChildGuard {
    child: Child,
    log_path: PathBuf,
    name: String,
}

impl ChildGuard {
    /// Spawns `command` with its output redirected to a fresh log file.
    pub fn spawn(name: &str, mut command: Command) -> Self {
        let log_path = std::env::temp_dir().join(format!(
            "veet-tests-{name}-{}-{}.log",
            std::process::id(),
            crate::redis_server::free_port()
        ));
        let log = std::fs::File::create(&log_path).expect("creating a log file");
        let err = log.try_clone().expect("cloning the log file handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        Self {
            child,
            log_path,
            name: name.to_owned(),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Panics (showing the log) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}); log:\n{}", self.name, self.log());
        }
    }

    /// What the process wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Kills the process and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log_path);
        } else {
            eprintln!(
                "--- {} log ({}) ---\n{}",
                self.name,
                self.log_path.display(),
                self.log()
            );
        }
    }
}
