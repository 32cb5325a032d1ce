//! `veet dev --turn`: a local coturn (Debian's `coturn` package) on loopback or the dev
//! server's address, sharing a fresh secret with signaling, so relay-only and TCP-only
//! clients can be tried on one machine. coturn is the standard TURN server; Veet does not
//! relay media itself.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use veet_core::turn::{TurnConfig, DEFAULT_TTL};

/// A coturn child process; killed on drop.
pub struct LocalTurn {
    child: Child,
    /// What signaling hands clients.
    pub config: TurnConfig,
}

impl Drop for LocalTurn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalTurn {
    /// Starts `turnserver` on `ip:port` (UDP and TCP) with relay ports above 49152.
    pub fn start(ip: IpAddr, port: u16) -> anyhow::Result<Self> {
        let secret = format!("{:032x}", rand::random::<u128>());
        let mut command = Command::new("turnserver");
        command
            .args(args(ip, port, &secret))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "--turn needs coturn's `turnserver`: install it with `sudo apt-get install coturn`"
            ),
            Err(e) => return Err(e).context("starting turnserver"),
        };
        // coturn listens within a moment; one that exits at once says why in its log.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = child.try_wait()? {
            bail!("turnserver exited at once ({status}); run it by hand to see why");
        }
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let urls = format!("turn:{host}:{port},turn:{host}:{port}?transport=tcp");
        let config =
            TurnConfig::new(&urls, secret.as_bytes(), DEFAULT_TTL).context("TURN configuration")?;
        Ok(Self { child, config })
    }
}

/// coturn's command line: the TURN REST API secret, no TLS (local only), and relaying to
/// loopback allowed, since the SFU node listens there.
fn args(ip: IpAddr, port: u16, secret: &str) -> Vec<String> {
    vec![
        "-n".into(),
        format!("--listening-ip={ip}"),
        format!("--listening-port={port}"),
        format!("--relay-ip={ip}"),
        "--min-port=49152".into(),
        "--max-port=49999".into(),
        "--use-auth-secret".into(),
        format!("--static-auth-secret={secret}"),
        "--realm=veet.local".into(),
        "--allow-loopback-peers".into(),
        "--no-cli".into(),
        "--no-tls".into(),
        "--no-dtls".into(),
        "--fingerprint".into(),
        "--log-file=stdout".into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coturn_is_told_the_secret_and_may_relay_to_loopback() {
        let a = args("127.0.0.1".parse().unwrap(), 3478, "s3cret");
        assert!(a.contains(&"--static-auth-secret=s3cret".to_owned()));
        assert!(a.contains(&"--use-auth-secret".to_owned()));
        assert!(a.contains(&"--allow-loopback-peers".to_owned()));
        assert!(a.contains(&"--listening-port=3478".to_owned()));
    }
}
