//! The binary: parse flags, start logging, dispatch. Everything else lives in the library.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 usage or config error (one line on stderr).

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write as _;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use clap::Parser as _;

use smartassist_exporter::app;
use smartassist_exporter::cli::{
    BackfillArgs, CheckConfigArgs, Cli, Command, ReplayArgs, SimulateArgs, WebArgs,
};
use smartassist_exporter::clock::SystemClock;
use smartassist_exporter::config::{Buckets, Config, ConfigError, Limits};
use smartassist_exporter::http::{TelemetryPath, WebConfig};
use smartassist_exporter::shard::{self, ShardArg};
use smartassist_exporter::state::StateError;
use smartassist_exporter::{backfill, demo, logging, probe, replay, shutdown};

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
        None if cli.demo => run_demo(cli.demo_options(), cli.web).await?,
        None => {
            let path = config_path(None, cli.config, "the exporter (or try --demo)")?;
            let config = Config::load(&path)?;
            let shard = assignment(cli.shard, cli.shard_reassign, &config)?;
            run_server(config, shard, path, cli.web).await?
        }
        Some(Command::CheckConfig(args)) => return check_config(args, cli.config).await,
        Some(Command::Simulate(args)) => run_simulate(args).await?,
        Some(Command::Replay(args)) => return run_replay(args).await,
        Some(Command::Backfill(args)) => {
            let path = config_path(args.config.clone(), cli.config, "backfill")?;
            let config = Config::load(&path)?;
            let shard = assignment(args.shard, false, &config)?;
            run_backfill(shard.select(&config), shard.spec, args).await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--shard` resolved (its `ordinal` from the host name) over `config`; the whole config
/// without it.
fn assignment(
    arg: Option<ShardArg>,
    reassign: bool,
    config: &Config,
) -> anyhow::Result<shard::Assignment> {
    let spec = match arg {
        Some(arg) => arg.resolve(shard::host_name().as_deref())?,
        None => shard::ShardSpec::WHOLE,
    };
    let assignment = shard::Assignment::new(spec, reassign, config);
    if spec != shard::ShardSpec::WHOLE {
        let owned = assignment.owned();
        tracing::info!(
            shard = %spec,
            sources = owned.len(),
            elsewhere = assignment.elsewhere().len(),
            "polling this shard's accounts: {}",
            if owned.is_empty() { "none (more shards than accounts?)".to_owned() } else { owned.join(", ") }
        );
    }
    Ok(assignment)
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

/// `check-config`: print the effective config, secrets masked; with `--probe`, then one tiny
/// query per source. Exit 0 when all is well, 1 when a probe failed.
async fn check_config(args: CheckConfigArgs, top: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = config_path(args.config, top, "check-config")?;
    let config = Config::load(&path)?;
    print!(
        "# effective config of {} (secrets masked)\n{}",
        path.display(),
        config.masked_yaml()
    );
    if !args.probe {
        return Ok(ExitCode::SUCCESS);
    }
    println!("# probe: one query per source (1 second, limit 1)");
    let reports = probe::probe(&config, Arc::new(SystemClock), app::http_transport).await;
    for report in &reports {
        println!("{report}");
    }
    Ok(if reports.iter().all(|r| r.ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

// ---------------------------------------------------------------------------------------------
// Entry points still to be wired by the poller, HTTP, simulator, replay and backfill work.
// Each is the one place its mode starts.

/// Server mode: poll `config`'s sources and serve `/metrics` per `web`; SIGHUP and
/// `POST /-/reload` re-read `path`.
async fn run_server(
    config: Config,
    shard: shard::Assignment,
    path: PathBuf,
    web: WebArgs,
) -> anyhow::Result<()> {
    // First, so a SIGTERM at any moment of the start stops cleanly.
    let stop = shutdown::signal();
    let (telemetry_path, web_config) = web_settings(&web)?;
    let listener = tokio::net::TcpListener::bind(web.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", web.listen_address))?;
    tracing::info!(sources = shard.owned().len(), "starting");
    app::run(app::RunOptions {
        config_path: Some(path),
        shard,
        telemetry_path,
        web: web_config,
        ..app::RunOptions::new(config, listener, stop)
    })
    .await
    .map_err(app_error)?;
    Ok(())
}

/// A checkpoint refused for its buckets is a config error (exit 2), like any other.
fn app_error(err: app::AppError) -> anyhow::Error {
    match err {
        app::AppError::State(StateError::Config(e)) => anyhow!(e),
        other => anyhow!(other),
    }
}

/// Validates the web flags that need more than clap: the telemetry path, and the web config
/// file (TLS, basic auth, headers, rate limit), loaded and checked in full here so a bad one
/// stops the start with one line naming the key. Both are config errors.
fn web_settings(web: &WebArgs) -> anyhow::Result<(TelemetryPath, WebConfig)> {
    let telemetry_path = web.telemetry_path.parse::<TelemetryPath>().map_err(|e| {
        anyhow!(ConfigError::Invalid {
            key: "--web.telemetry-path".to_owned(),
            message: e.to_string(),
        })
    })?;
    let web_config = match &web.config_file {
        Some(file) => WebConfig::load(file)?,
        None => WebConfig::default(),
    }
    .with_lifecycle(web.enable_lifecycle)
    .with_connection_limits(web.connection_limits());
    Ok((telemetry_path, web_config))
}

/// `--demo`: start the simulator in-process, build [`Config::demo`] against it, run the server.
async fn run_demo(opts: demo::DemoOptions, web: WebArgs) -> anyhow::Result<()> {
    let stop = shutdown::signal();
    let (telemetry_path, web_config) = web_settings(&web)?;
    let listener = tokio::net::TcpListener::bind(web.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", web.listen_address))?;
    let (stop_sim, sim_stopped) = tokio::sync::oneshot::channel::<()>();
    let config = demo::start(opts, async {
        let _ = sim_stopped.await;
    })
    .await
    .context("cannot start the demo simulator")?;
    tracing::info!(
        "demo: open {}://{}{} (landing page at /)",
        if web_config.tls().is_some() {
            "https"
        } else {
            "http"
        },
        display_address(web.listen_address),
        telemetry_path
    );
    app::run(app::RunOptions {
        telemetry_path,
        web: web_config,
        ..app::RunOptions::new(config, listener, stop)
    })
    .await
    .map_err(app_error)?;
    let _ = stop_sim.send(());
    Ok(())
}

/// `0.0.0.0:9877` as a person would type it into a browser.
fn display_address(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// `simulate`: serve the simulated SmartAssist API alone.
async fn run_simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let history = args
        .history
        .unwrap_or(std::time::Duration::from_secs(24 * 3600));
    smartassist_exporter::simulator::run_simulate(
        args.listen,
        args.seed.unwrap_or(1),
        args.rate.unwrap_or(6.0),
        history,
        args.faults,
        args.incidents,
    )
    .await?;
    Ok(())
}

/// `replay`: saved responses to a KPI exposition on stdout. A file that cannot be replayed is
/// reported once on stderr and left out; the exit code is 1 when any was.
async fn run_replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let out = replay::replay(
        &args.files,
        &args.source,
        args.time_zone_offset,
        chrono::Utc::now().timestamp_millis(),
        &Buckets::default(),
        &Limits::default(),
    );
    for failure in &out.failures {
        eprintln!("error: {failure}");
    }
    let s = out.summary;
    tracing::info!(
        files = out.replayed,
        failed = out.failures.len(),
        elements = s.elements,
        ingested = s.ingested,
        duplicate = s.duplicate,
        in_progress = s.in_progress,
        malformed = s.malformed,
        "replayed"
    );
    std::io::stdout().write_all(&out.exposition)?;
    Ok(if out.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `backfill`: a past range to OpenMetrics files (one per UTC day) for promtool.
async fn run_backfill(
    config: Config,
    shard: shard::ShardSpec,
    args: BackfillArgs,
) -> anyhow::Result<()> {
    let options = backfill::Options {
        shard,
        from: args.from,
        to: args.to,
        out: args.out,
        step: args.step,
        labels: args.labels,
        state_out: args.state_out,
        max_requests_per_minute: args.max_requests_per_minute,
    };
    let run = backfill::Backfill::new(config, options, chrono::Utc::now())?;
    run.run(Arc::new(SystemClock), app::http_transport).await?;
    Ok(())
}
