//! A throw-away `mlflow server` on 127.0.0.1 for the MLflow rows, stopped on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Mlflow {
    pub uri: String,
    child: Child,
}

impl Mlflow {
    /// Starts the server through `xtask/verify/mlflow_server.py`, which stops it when its
    /// stdin closes.
    pub fn start(python: &Path, root: &Path, state: &Path) -> Result<Mlflow, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut child = Command::new(python)
            .arg(root.join("xtask/verify/mlflow_server.py"))
            .arg(state)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start mlflow server: {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if !line.starts_with("READY") {
            return Err(format!("mlflow server did not start: {line}"));
        }
        Ok(Mlflow {
            uri: format!("http://127.0.0.1:{port}"),
            child,
        })
    }
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
