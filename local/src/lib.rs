//! Local stand-ins for AWS.
//!
//! [`Moto`] runs the moto server from the project's venv on a free loopback
//! port, waits until it answers, and stops it by PID when dropped. Tests and
//! `authz dev` point the AWS SDK at [`Moto::endpoint`] through configuration
//! (`AWS_ENDPOINT_URL`), never through code paths of their own.
#![deny(missing_docs)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long moto may take to answer after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Why moto could not be started or controlled.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The venv has no moto_server.
    #[error("moto is not installed at `{0}`: run scripts/test or scripts/dev, which install it")]
    NotInstalled(String),
    /// The process could not be spawned.
    #[error("cannot start moto: {0}")]
    Spawn(#[from] std::io::Error),
    /// moto did not answer in time.
    #[error("moto did not answer on {0} within {READY_TIMEOUT:?}")]
    NotReady(String),
    /// An HTTP call to moto's control API failed.
    #[error("moto control call failed: {0}")]
    Control(String),
}

/// The project's Python venv: `$AUTHZ_VENV`, else `.venv` at the repository root.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("AUTHZ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv")))
}

/// A running moto server on 127.0.0.1, stopped (by PID) on drop.
#[derive(Debug)]
pub struct Moto {
    child: Option<Child>,
    port: u16,
}

/// A port nothing listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    pub fn start() -> Result<Self, LocalError> {
        Self::start_on(free_port()?)
    }

    /// Starts moto on `port` (loopback only) and waits until it answers.
    pub fn start_on(port: u16) -> Result<Self, LocalError> {
        let binary = venv_dir().join("bin/moto_server");
        if !binary.exists() {
            return Err(LocalError::NotInstalled(binary.display().to_string()));
        }
        // moto_server's own code, with requests serialized (see the script).
        let child = Command::new(venv_dir().join("bin/python"))
            .args(["-c", include_str!("../moto_server.py"), "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let moto = Moto { child: Some(child), port };
        moto.wait_ready()?;
        Ok(moto)
    }

    fn wait_ready(&self) -> Result<(), LocalError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/moto-api/", self.endpoint());
        while Instant::now() < deadline {
            if ureq::get(&url).call().is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(LocalError::NotReady(self.endpoint()))
    }

    /// `http://127.0.0.1:<port>`: the endpoint for every AWS service moto serves.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Clears every table, bucket and object.
    pub fn reset(&self) -> Result<(), LocalError> {
        ureq::post(&format!("{}/moto-api/reset", self.endpoint()))
            .send_empty()
            .map(drop)
            .map_err(|e| LocalError::Control(e.to_string()))
    }

    /// Stops the server (kill by PID, then reap). Safe to call twice.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port after [`Moto::stop`]; state is lost.
    pub fn restart(&mut self) -> Result<(), LocalError> {
        self.stop();
        let started = Instant::now();
        // The old socket may linger for a moment; retry until the port is ours again.
        loop {
            match Moto::start_on(self.port) {
                Ok(mut fresh) => {
                    self.child = fresh.child.take();
                    return Ok(());
                }
                Err(e) if started.elapsed() > READY_TIMEOUT => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
