//! `socle`: the platform in one binary.
//!
//! - `socle serve` runs the platform (embedded SQLite in `./socle_data` unless
//!   `DATABASE_URL` points at PostgreSQL): API, job worker and scheduler, or one of them
//!   with `--role`.
//! - `socle migrate` applies database migrations and exits.
//! - `socle superuser create --email E [--password-stdin]` creates a platform administrator.
//! - `socle secrets rotate` re-encrypts workflow secrets under the current `secrets_key`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kernel::Config;

mod logging;

// mimalloc: about 10% more requests per second than glibc's malloc here (allocation was a
// fifth of the request profile). Transparent huge pages are turned off below so that its
// arenas do not inflate idle memory. The `system-allocator` feature leaves it out, for
// allocation profilers (heaptrack, valgrind) that follow malloc.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keep the kernel from backing the allocator's arenas with 2 MiB pages, which would count
/// untouched memory as resident (measured: 45 MB idle with them, 19 MB without).
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // prctl is variadic and the kernel reads its arguments as unsigned longs.
    let (on, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
    // SAFETY: PR_SET_THP_DISABLE takes integers only and touches no memory of ours.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused) };
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// Raise the soft limit of open files to the hard limit, as Go's runtime does for PocketBase:
/// every connection, WebSocket and SSE stream is a file, and the usual default soft limit
/// (1,024) would have the server refuse clients past about a thousand while the system
/// allows far more. Returns the limit now in force.
#[cfg(unix)]
fn raise_open_files_limit() -> Option<libc::rlim_t> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed, which lives here.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: as above. On failure (a hard limit the kernel refuses as a soft one) the
        // limit stays as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn raise_open_files_limit() -> Option<u64> {
    None
}

/// Give the memory freed once start-up is over (the API document's assembly, about 10 MB)
/// back to the system now: mimalloc would otherwise keep it until the thread that freed it
/// allocates again, and the idle process would look 10 MB larger than it is.
#[cfg(not(feature = "system-allocator"))]
fn return_startup_memory() {
    unsafe extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: mimalloc (linked as the global allocator) frees and purges only memory that
    // is no longer allocated; it takes no pointer of ours.
    unsafe { mi_collect(true) }
}

#[cfg(feature = "system-allocator")]
fn return_startup_memory() {}

#[derive(Parser)]
#[command(name = "socle", version, about = "A complete backend platform in one binary")]
struct Cli {
    /// Configuration file (default: ./socle.toml if it exists).
    #[arg(long, global = true, env = "SOCLE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform.
    Serve {
        /// Address to listen on (overrides `bind`).
        #[arg(long)]
        bind: Option<String>,
        /// What to run: `all` (default), `api`, `worker` or `scheduler` (comma-separated to
        /// combine). Workers and schedulers of several processes share PostgreSQL safely.
        #[arg(long, env = "SOCLE_ROLE")]
        role: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage platform administrators.
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
    /// Manage the keys of stored secrets.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Re-encrypt every workflow secret under `secrets_key` (also done at each start); fails
    /// if a value opens with none of `secrets_key`, `secrets_previous_keys` and the JWT
    /// secrets, so that a previous key is dropped only once nothing needs it.
    Rotate,
}

#[derive(Subcommand)]
enum SuperuserAction {
    /// Create an administrator (or promote an existing account and set its password).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let prompt = |label: &str| -> anyhow::Result<String> {
        eprint!("{label}");
        std::io::stderr().flush()?;
        let _ = std::process::Command::new("stty").arg("-echo").status();
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
        read?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    let first = prompt("Password: ")?;
    let second = prompt("Repeat password: ")?;
    anyhow::ensure!(first == second, "the passwords do not match");
    Ok(first)
}

fn main() -> anyhow::Result<()> {
    disable_transparent_huge_pages();
    let open_files = raise_open_files_limit();
    // One TLS crypto provider for every rustls user (PostgreSQL, SMTP).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref()).context("reading configuration")?;
    // Held until main returns: its drop writes out the lines still queued.
    let logs = logging::init(&config.log_format);
    // Worker threads keep their SQLite read transaction between queries, never while idle.
    let runtime = kernel::inline_reader::runtime_builder().build()?;
    let logs = &logs;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { bind, role } => {
                if let Some(bind) = bind {
                    config.bind = bind;
                }
                if let Some(role) = role {
                    for r in role.split(',').map(str::trim) {
                        anyhow::ensure!(
                            ["all", "api", "worker", "scheduler"].contains(&r),
                            "--role {r:?}: expected all, api, worker or scheduler"
                        );
                    }
                    config.role = role;
                }
                let app = server::Application::build(config).await?;
                return_startup_memory();
                logs.export_dropped_lines();
                tracing::info!(
                    address = %app.local_addr()?,
                    database = app.db().kind().as_str(),
                    open_files,
                    "Socle is listening"
                );
                app.run_until(server::shutdown_signal()).await
            }
            Command::Migrate => {
                let db = server::open_database(&config).await?;
                db.close().await;
                Ok(())
            }
            Command::Superuser { action: SuperuserAction::Create { email, password_stdin } } => {
                let password = read_password(password_stdin)?;
                let config = Arc::new(config);
                let db = server::open_database(&config).await?;
                let mailer = kernel::mail::Mailer::from_config(&config)?;
                let keys = server::secrets::load(&config)?;
                let store = Arc::new(kernel::storage::Store::new(&config.data_dir, Some(&config.s3)));
                let state = foundation::FoundationState::new(
                    db.clone(),
                    config,
                    mailer,
                    &keys,
                    kernel::Usage::new(false, false),
                    store,
                )?;
                let user =
                    foundation::accounts::service::create_superuser(&state, &email, &password).await.map_err(|e| {
                        match e {
                            kernel::Error::Validation(errors) => anyhow::anyhow!(
                                "{}",
                                errors
                                    .iter()
                                    .map(|e| format!("{}: {}", e.field, e.message))
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            other => anyhow::anyhow!("{other}"),
                        }
                    })?;
                println!("administrator {} ({}) is ready", user.email, user.id);
                db.close().await;
                Ok(())
            }
            Command::Secrets { action: SecretsAction::Rotate } => {
                let db = server::open_database(&config).await?;
                let keys = server::secrets::load(&config)?;
                let report = server::secrets::reencrypt(&keys, &db).await;
                db.close().await;
                let r = report.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "workflow secrets: {} re-encrypted under secrets_key, {} already were, {} unreadable",
                    r.rewritten, r.current, r.unreadable
                );
                anyhow::ensure!(
                    r.unreadable == 0,
                    "{} workflow secrets open with none of the configured keys (logged by project and name); \
                     keep their key in secrets_previous_keys, or set them again",
                    r.unreadable
                );
                Ok(())
            }
        }
    })
}
