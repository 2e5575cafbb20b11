//! The binary: parse flags, start logging, dispatch. Everything else lives in the library.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 usage or config error (one line on stderr).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::Parser as _;

use smartassist_exporter::cli::{
    BackfillArgs, CheckConfigArgs, Cli, Command, ReplayArgs, SimulateArgs, WebArgs,
};
use smartassist_exporter::config::{Config, ConfigError};
use smartassist_exporter::logging;

/// Exit code for a config or usage error, as clap uses for bad flags.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init(cli.log.level, cli.log.format) {
        eprintln!("cannot start logging: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(err) => match err.downcast_ref::<ConfigError>() {
            // ConfigError's Display is the whole line; nothing may be added to it.
            Some(config_error) => {
                eprintln!("{config_error}");
                ExitCode::from(EXIT_USAGE)
            }
            None => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None if cli.demo => run_demo(cli.demo_incidents, cli.web).await?,
        None => {
            let path = config_path(None, cli.config, "the exporter (or try --demo)")?;
            run_server(Config::load(&path)?, cli.web).await?
        }
        Some(Command::CheckConfig(args)) => return check_config(args, cli.config),
        Some(Command::Simulate(args)) => run_simulate(args).await?,
        Some(Command::Replay(args)) => run_replay(args).await?,
        Some(Command::Backfill(args)) => {
            let path = config_path(args.config.clone(), cli.config, "backfill")?;
            run_backfill(Config::load(&path)?, args).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A subcommand's `--config`, else the top-level one.
fn config_path(
    own: Option<PathBuf>,
    top: Option<PathBuf>,
    command: &str,
) -> anyhow::Result<PathBuf> {
    own.or(top).ok_or_else(|| {
        anyhow!(ConfigError::Read {
            path: "--config".to_owned(),
            message: format!("{command} needs a config file"),
        })
    })
}

/// `check-config`: print the effective config, secrets masked.
fn check_config(args: CheckConfigArgs, top: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = config_path(args.config, top, "check-config")?;
    let config = Config::load(&path)?;
    print!(
        "# effective config of {} (secrets masked)\n{}",
        path.display(),
        config.masked_yaml()
    );
    if args.probe {
        eprintln!("error: --probe needs the API client, which is not built yet");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Entry points still to be wired by the poller, HTTP, simulator, replay and backfill work.
// Each is the one place its mode starts.

/// Server mode: poll `config`'s sources and serve `/metrics` per `web`.
async fn run_server(config: Config, web: WebArgs) -> anyhow::Result<()> {
    let _ = (config, web);
    bail!("server mode is not wired yet")
}

/// `--demo`: start the simulator in-process, build [`Config::demo`] against it, run the server.
async fn run_demo(incidents: bool, web: WebArgs) -> anyhow::Result<()> {
    let _ = (incidents, web);
    bail!("--demo is not wired yet")
}

/// `simulate`: serve the simulated SmartAssist API alone.
async fn run_simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let _ = args;
    bail!("simulate is not wired yet")
}

/// `replay`: saved responses to a KPI exposition on stdout.
async fn run_replay(args: ReplayArgs) -> anyhow::Result<()> {
    let _ = args;
    bail!("replay is not wired yet")
}

/// `backfill`: a past range to OpenMetrics files.
async fn run_backfill(config: Config, args: BackfillArgs) -> anyhow::Result<()> {
    let _ = (config, args);
    bail!("backfill is not wired yet")
}
