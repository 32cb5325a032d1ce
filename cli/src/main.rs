//! `veet`: run a local meeting server, issue join tokens.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use veet::dev::{DevConfig, DevServer};
use veet_core::protocol::Grants;
use veet_core::token::{TokenAuthority, DEV_TOKEN_SECRET, TOKEN_SECRET_ENV};

#[derive(Parser)]
#[command(
    name = "veet",
    version,
    about = "Veet video meetings: local server, tokens and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything on this machine: signaling (API Gateway emulator), routing, web app.
    Dev {
        /// Address to listen on; 0.0.0.0 to let other machines on the LAN join.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Keep routing state in Redis (e.g. redis://127.0.0.1:6379) instead of in memory.
        #[arg(long, env = "VEET_REDIS_URL")]
        redis: Option<String>,
    },
    /// Print a join token for a room.
    Token {
        #[arg(long)]
        room: String,
        #[arg(long)]
        identity: String,
        /// Display name (defaults to the identity).
        #[arg(long)]
        name: Option<String>,
        /// Lifetime, e.g. 90s, 30m, 1h, 2d.
        #[arg(long, default_value = "1h", value_parser = veet::duration::parse)]
        ttl: Duration,
        /// Grant room_admin.
        #[arg(long)]
        admin: bool,
        /// Join to watch and listen only.
        #[arg(long)]
        no_publish: bool,
    },
}

fn tokens_or_dev() -> TokenAuthority {
    let (tokens, dev) = TokenAuthority::from_env_or_dev();
    if dev {
        eprintln!(
            "warning: {TOKEN_SECRET_ENV} is not set; using the development secret \"{DEV_TOKEN_SECRET}\". Set {TOKEN_SECRET_ENV} for anything but local testing."
        );
    }
    tokens
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,veet=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Dev { bind, port, redis } => {
            let config = DevConfig {
                bind,
                port,
                redis,
                tokens: tokens_or_dev(),
                web_dir: veet::dev::find_web_dir(),
            };
            let server = DevServer::start(config).await?;
            println!("Veet is running at http://{}/", server.addr);
            println!("WebSocket signaling: {}?token=…", server.ws_url());
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("shutting down");
                    server.shutdown().await;
                }
                _ = terminate() => server.shutdown().await,
            }
        }
        Command::Token {
            room,
            identity,
            name,
            ttl,
            admin,
            no_publish,
        } => {
            let grants = Grants {
                can_publish: !no_publish,
                room_admin: admin,
                ..Grants::default()
            };
            let name = name.unwrap_or_else(|| identity.clone());
            let token = tokens_or_dev()
                .issue(&room, &identity, &name, grants, ttl)
                .context("signing the token")?;
            println!("{token}");
        }
    }
    Ok(())
}

async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}
