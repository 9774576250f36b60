//! `winback`: audit a bookings export, generate a sample one, check the lapse score on a
//! business's own history, serve the API locally, and administer tenants. Argument parsing and
//! exit codes only; the work is in the library.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::civil::Date;
use shared::adapters::bookings_csv::audit_run;
use shared::adapters::bookings_csv::{ExportError, ReadOptions, parse_mapping};
use shared::app::audit::AuditOptions;
use shared::domain::config::BusinessConfig;
use shared::domain::day::Day;
use winback::demo::{DemoSpec, run_demo};
use winback::sample::{SampleSpec, write_sample};
use winback::stores::StoreArgs;
use winback::{backtest, config_file, render, serve, tenant_admin};

#[derive(Parser)]
#[command(
    name = "winback",
    version,
    about = "Find the clients drifting away from a service business, and win them back"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit a bookings export: clients per category and stage, tiers, revenue at stake.
    Audit(AuditArgs),
    /// Write a realistic synthetic salon and spa bookings export.
    Sample(SampleArgs),
    /// Check the lapse score on an export's own history: score as of a cut-off date, compare
    /// with who came back after it, against recency alone.
    Backtest(BacktestArgs),
    /// Run the whole system on this machine over a simulated sample business: weeks of
    /// bookings, lapses, messages to an outbox folder, clients who click, book or opt out, and
    /// the outreach report at the end.
    Demo(DemoArgs),
    /// Show a message as a client would get it: a template (the business's own or the
    /// built-in one) on a channel, for a client of the local store or with typical values.
    Preview(PreviewArgs),
    /// Serve the HTTP API on this machine, on the local store (a demo tenant is made on the
    /// first start).
    Serve(ServeArgs),
    /// Create tenants and their credentials.
    #[command(subcommand)]
    Tenant(TenantCommand),
}

#[derive(Args)]
struct DemoArgs {
    /// Weeks to simulate, up to yesterday.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=104))]
    weeks: u32,
    /// How many clients the sample business has.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=20_000))]
    clients: u32,
    /// The random seed: the same seed and dates give the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder the demo writes its store and outbox to (an earlier demo's are replaced).
    #[arg(long, value_name = "DIR", default_value = "winback-demo")]
    out: PathBuf,
    /// The last simulated day is the day before this one. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    until: Option<Date>,
    /// The summary as a table, or as one JSON document.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
struct PreviewArgs {
    /// The template: soft_check_in, value_add, incentive, last_chance, long_game,
    /// re_permission, or a name the business's sequences use.
    #[arg(long, default_value = "soft_check_in")]
    template: String,
    #[arg(long, value_enum, default_value_t = ChannelArg::Email)]
    channel: ChannelArg,
    /// Include this offer (a key of the settings' offers).
    #[arg(long, value_name = "KEY")]
    offer: Option<String>,
    /// Render for this client of the local store (its tenant's settings and templates).
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// The client's tenant.
    #[arg(long, default_value = "demo", requires = "client")]
    tenant: String,
    /// The folder of the local store.
    #[arg(long, value_name = "DIR", default_value = "winback-data")]
    data: PathBuf,
    /// Settings (TOML) to take the templates from, when no client is given.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "client")]
    config: Option<PathBuf>,
    /// Print the email's HTML part too.
    #[arg(long)]
    html: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChannelArg {
    Email,
    Sms,
}

#[derive(Args)]
struct ServeArgs {
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The folder of the local store (made if missing).
    #[arg(long, value_name = "DIR", default_value = "winback-data")]
    data: PathBuf,
    /// Seconds between runs of lapse detection and the step queue (the deployed stack runs
    /// them hourly and every five minutes).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    tick_seconds: u64,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints only its id.
    Create(TenantCreateArgs),
    /// API keys of a tenant.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Standard Webhooks signing secrets of a tenant.
    #[command(subcommand, name = "webhook-secret")]
    WebhookSecret(SecretCommand),
}

#[derive(Args)]
struct TenantCreateArgs {
    /// The business's name, as clients know it.
    #[arg(long)]
    name: String,
    /// The business's IANA time zone, e.g. Europe/London.
    #[arg(long)]
    timezone: String,
    /// The ISO 4217 currency of its prices, e.g. GBP.
    #[arg(long)]
    currency: String,
    /// The industry preset for default return intervals.
    #[arg(long, default_value = "salon")]
    industry: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key; prints only the key, which is shown this once.
    Create(TenantRef),
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Create a signing secret; prints only the secret (whsec_...).
    Create(TenantRef),
}

#[derive(Args)]
struct TenantRef {
    /// The tenant's id.
    tenant: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct ExportArgs {
    /// The bookings export (CSV with a header row), or - for standard input.
    file: PathBuf,
    /// Business settings (industry, time zone, currency, stage multiples, category defaults).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Read a column under another header: canonical=Header (repeatable), e.g.
    /// --map client_id="Customer Number".
    #[arg(long = "map", value_name = "canonical=Header")]
    mappings: Vec<String>,
    /// The layout of dates that are not ISO 8601, e.g. "%d/%m/%Y" or "%m/%d/%Y %H:%M".
    #[arg(long, value_name = "LAYOUT")]
    date_format: Option<String>,
    /// Days ahead for the lapse score: the probability of no visit within this many days.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    horizon: u32,
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    export: ExportArgs,
    /// The audit's "today" (YYYY-MM-DD); bookings after it are future bookings. Default: today
    /// in the business's time zone.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write one row per client and category to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    scores: Option<PathBuf>,
    /// Print why one client is where they are, per category.
    #[arg(long, value_name = "ID")]
    client: Option<String>,
    /// Read a file in parallel from this size on (bytes). For tests of the parallel reader
    /// on small files; the default suits every real export.
    #[arg(long, hide = true, value_name = "BYTES")]
    parallel_from_bytes: Option<u64>,
    /// The size of the parts a file read in parallel is cut into (bytes); see above.
    #[arg(long, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    part_bytes: Option<u64>,
}

#[derive(Args)]
struct BacktestArgs {
    #[command(flatten)]
    export: ExportArgs,
    /// Score as of this date, using only the rows up to it (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    cutoff: Date,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
struct SampleArgs {
    /// How many clients the sample business has.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=50_000_000))]
    clients: u32,
    /// The random seed: the same seed always writes the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the CSV, or - for standard output.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    /// The export's "today": visits before, future bookings after. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// Years of history.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    years: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// A failure, with the exit code it deserves: 2 when the input or the arguments are at fault,
/// 1 when something else is.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn input(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }

    fn other(message: impl ToString) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<audit_run::AuditRunError> for Failure {
    fn from(error: audit_run::AuditRunError) -> Failure {
        match error {
            audit_run::AuditRunError::Export(e) => e.into(),
            join @ audit_run::AuditRunError::Join(_) => Failure::input(join),
        }
    }
}

impl From<ExportError> for Failure {
    fn from(error: ExportError) -> Failure {
        match error {
            ExportError::Io(e) => Failure::other(format!("could not read the export: {e}")),
            other => Failure::input(other),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Audit(args) => audit(args),
        Command::Sample(args) => sample(args),
        Command::Backtest(args) => run_backtest(args),
        Command::Demo(args) => demo(args),
        Command::Preview(args) => preview(args),
        Command::Serve(args) => serve(args),
        Command::Tenant(command) => tenant(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn today_in(config: &BusinessConfig) -> Date {
    config
        .timezone
        .zone()
        .to_datetime(jiff::Timestamp::now())
        .date()
}

/// Where an export comes from: a file can be read in parts by several threads, a stream cannot.
enum Input {
    File(PathBuf),
    Stream(Box<dyn Read>),
}

impl Input {
    fn open(self) -> Result<Box<dyn Read>, Failure> {
        match self {
            Input::File(path) => {
                let file = File::open(&path)
                    .map_err(|e| Failure::input(format!("cannot open {}: {e}", path.display())))?;
                Ok(Box::new(file))
            }
            Input::Stream(stream) => Ok(stream),
        }
    }
}

/// Settings, read options and the export, shared by `audit` and `backtest`.
fn prepare(export: &ExportArgs) -> Result<(BusinessConfig, ReadOptions, Input, String), Failure> {
    let config = match &export.config {
        Some(path) => config_file::load(path).map_err(Failure::input)?,
        None => BusinessConfig::default(),
    };
    let mappings = export
        .mappings
        .iter()
        .map(|m| parse_mapping(m))
        .collect::<Result<Vec<_>, _>>()?;
    let read_options = ReadOptions {
        mappings,
        timezone: config.timezone.clone(),
        currency: config.currency,
        date_format: export.date_format.clone(),
    };
    let (input, source) = if export.file == Path::new("-") {
        (
            Input::Stream(Box::new(io::stdin().lock())),
            "standard input".into(),
        )
    } else {
        let file = File::open(&export.file)
            .map_err(|e| Failure::input(format!("cannot open {}: {e}", export.file.display())))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Failure::input(format!(
                "{} is a folder; give the path of a CSV file",
                export.file.display()
            )));
        }
        (
            Input::File(export.file.clone()),
            export.file.display().to_string(),
        )
    };
    Ok((config, read_options, input, source))
}

fn audit(args: AuditArgs) -> Result<(), Failure> {
    let (config, read_options, input, source) = prepare(&args.export)?;
    let as_of = args.as_of.unwrap_or_else(|| today_in(&config));
    let options = AuditOptions {
        as_of: Day::from(as_of),
        horizon_days: args.export.horizon,
        config,
    };
    let (report, summary) = match input {
        Input::File(path) => {
            let default = audit_run::Parallelism::default();
            let parallelism = audit_run::Parallelism {
                from_bytes: args.parallel_from_bytes.unwrap_or(default.from_bytes),
                part_bytes: args.part_bytes.unwrap_or(default.part_bytes),
                timings: std::env::var_os("WINBACK_TIMINGS").is_some(),
            };
            audit_run::audit_file(&path, read_options, options, parallelism)?
        }
        Input::Stream(stream) => audit_run::audit(stream, read_options, options)?,
    };
    if summary.rows > 0 && summary.rows == summary.bad_rows {
        let first = summary
            .first_bad_rows
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>();
        return Err(Failure::input(format!(
            "no row of {source} could be read; the first problems:{first}"
        )));
    }

    if let Some(path) = &args.scores {
        let file = File::create(path)
            .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?;
        render::write_scores(&report, BufWriter::with_capacity(1 << 20, file))
            .map_err(|e| Failure::other(format!("cannot write {}: {e}", path.display())))?;
    }

    let stdout = io::stdout();
    let mut out = render::Printable::new(BufWriter::new(stdout.lock()));
    let written = if let Some(id) = &args.client {
        let rows = report.client(id.trim());
        if rows.is_empty() {
            let known = report.knows_client(id.trim());
            return Err(Failure::other(if known {
                format!(
                    "client \"{}\" has no completed visit in {source}, so has no rhythm to explain",
                    id.trim()
                )
            } else {
                format!(
                    "no client \"{}\" in {source}; client ids are matched exactly",
                    id.trim()
                )
            }));
        }
        render::write_client(&rows, &mut out)
    } else {
        match args.format {
            Format::Table => render::write_table(&report, &summary, &source, &mut out),
            Format::Json => render::write_json(&report, &summary, &source, out.raw())
                .and_then(|()| writeln!(out.raw())),
        }
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::other(format!("cannot write the report: {e}")))
}

fn run_backtest(args: BacktestArgs) -> Result<(), Failure> {
    let (config, read_options, input, source) = prepare(&args.export)?;
    let options = AuditOptions {
        as_of: Day::from(args.cutoff),
        horizon_days: args.export.horizon,
        config,
    };
    let result = backtest::backtest(input.open()?, read_options, options)?;
    let auc = |v: Option<f64>| {
        v.map_or("n/a (everyone or no one came back)".to_owned(), |a| {
            format!("{a:.3}")
        })
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&result).map_err(Failure::other)?
        ),
        Format::Table => {
            println!(
                "winback backtest of {source}: scored as of {}, outcome over the next {} days",
                result.cutoff, result.horizon_days
            );
            println!(
                "Client-category pairs scored: {}; did not return: {} ({:.1}%)",
                result.scored,
                result.did_not_return,
                result.observed_no_return_rate * 100.0
            );
            println!(
                "AUC for \"did not return\", lapse score: {}",
                auc(result.lapse_score_auc)
            );
            println!(
                "AUC for \"did not return\", recency:     {}",
                auc(result.recency_auc)
            );
            println!(
                "Among the {} last seen within 180 days of the cut-off: lapse score {}, recency {}",
                result.recent_scored,
                auc(result.recent_lapse_score_auc),
                auc(result.recent_recency_auc)
            );
            println!(
                "Mean lapse score {:.3} against an observed rate of {:.3}",
                result.mean_lapse_score, result.observed_no_return_rate
            );
            if result.input.bad_rows > 0 {
                println!("{} bad rows skipped.", result.input.bad_rows);
            }
        }
    }
    Ok(())
}

fn sample(args: SampleArgs) -> Result<(), Failure> {
    let as_of = args.as_of.unwrap_or_else(|| {
        jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
    });
    let spec = SampleSpec {
        clients: args.clients,
        seed: args.seed,
        as_of,
        years: args.years,
    };
    let written = if args.out == Path::new("-") {
        write_sample(&spec, BufWriter::new(io::stdout().lock()))
    } else {
        let file = File::create(&args.out)
            .map_err(|e| Failure::other(format!("cannot write {}: {e}", args.out.display())))?;
        write_sample(&spec, BufWriter::with_capacity(1 << 20, file))
    };
    let rows =
        written.map_err(|e| Failure::other(format!("cannot write {}: {e}", args.out.display())))?;
    if args.out != Path::new("-") {
        eprintln!(
            "wrote {rows} rows for {} clients to {}",
            args.clients,
            args.out.display()
        );
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::other(format!("cannot start: {e}")))
}

fn demo(args: DemoArgs) -> Result<(), Failure> {
    let end = args.until.unwrap_or_else(|| {
        jiff::tz::TimeZone::UTC
            .to_datetime(jiff::Timestamp::now())
            .date()
    });
    let spec = DemoSpec {
        weeks: args.weeks,
        clients: args.clients,
        seed: args.seed,
        folder: args.out,
        end,
    };
    let table = matches!(args.format, Format::Table);
    if table {
        println!(
            "Simulating {} weeks of a salon and spa with {} clients; messages go to {}",
            spec.weeks,
            spec.clients,
            spec.folder.join(serve::OUTBOX).display()
        );
    }
    let summary = runtime()?
        .block_on(run_demo(&spec, |week| {
            if table {
                println!(
                    "  week {:>2}: {:>4} enrolled, {:>4} messages sent, {:>4} back so far",
                    week.week, week.enrolled, week.messages, week.came_back
                );
            }
        }))
        .map_err(Failure::other)?;
    let stdout = io::stdout().lock();
    let written = if table {
        render::write_demo_summary(&summary, stdout)
    } else {
        serde_json::to_writer_pretty(stdout, &summary)
            .map_err(io::Error::other)
            .map(|()| println!())
    };
    written.map_err(|e| Failure::other(format!("cannot write the summary: {e}")))
}

fn preview(args: PreviewArgs) -> Result<(), Failure> {
    use winback::preview::{PreviewRequest, Recipient};
    let request = PreviewRequest {
        template: args.template,
        channel: match args.channel {
            ChannelArg::Email => shared::domain::channel::Channel::Email,
            ChannelArg::Sms => shared::domain::channel::Channel::Sms,
        },
        offer: args.offer,
    };
    let recipient = match &args.client {
        Some(client) => Recipient::Client {
            data: &args.data,
            tenant: &args.tenant,
            client,
        },
        None => Recipient::Typical(Box::new(match &args.config {
            Some(path) => config_file::load(path).map_err(Failure::input)?,
            None => BusinessConfig::default(),
        })),
    };
    let preview = runtime()?
        .block_on(winback::preview::preview(&request, recipient))
        .map_err(Failure::input)?;
    match winback::preview::write_preview(&preview, args.html, io::stdout().lock()) {
        // Piped into `head`: the reader has what it wanted.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Failure::other(format!("cannot write the preview: {e}")))
        }
        _ => Ok(()),
    }
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_target(false)
        .init();
    runtime()?
        .block_on(serve::serve(
            args.port,
            &args.data,
            std::time::Duration::from_secs(args.tick_seconds),
        ))
        .map_err(Failure::other)
}

fn tenant(command: TenantCommand) -> Result<(), Failure> {
    let runtime = runtime()?;
    let tenant_id = |text: &str| {
        shared::domain::ids::TenantId::parse(text)
            .map_err(|e| Failure::input(format!("{text:?}: {e}")))
    };
    match command {
        TenantCommand::Create(args) => {
            let config = BusinessConfig {
                timezone: shared::domain::time_zone::TimeZoneName::parse(&args.timezone)
                    .map_err(|e| Failure::input(format!("--timezone: {e}")))?,
                currency: shared::domain::money::Currency::parse(&args.currency)
                    .map_err(|e| Failure::input(format!("--currency: {e}")))?,
                industry: args
                    .industry
                    .parse()
                    .map_err(|e| Failure::input(format!("--industry: {e}")))?,
                ..BusinessConfig::default()
            };
            let name = args.name.trim().to_owned();
            if name.is_empty() {
                return Err(Failure::input("--name is empty; give the business's name"));
            }
            let tenant = runtime.block_on(async {
                let store = args.store.open().await.map_err(Failure::other)?;
                tenant_admin::create_tenant(&*store, tenant_admin::new_tenant_id(), name, config)
                    .await
                    .map_err(admin_failure)
            })?;
            println!("{}", tenant.id);
        }
        TenantCommand::Key(KeyCommand::Create(args)) => {
            let id = tenant_id(&args.tenant)?;
            let key = runtime.block_on(async {
                let store = args.store.open().await.map_err(Failure::other)?;
                tenant_admin::create_key(&*store, &id)
                    .await
                    .map_err(admin_failure)
            })?;
            println!("{}", key.expose());
        }
        TenantCommand::WebhookSecret(SecretCommand::Create(args)) => {
            let id = tenant_id(&args.tenant)?;
            let secret = runtime.block_on(async {
                let store = args.store.open().await.map_err(Failure::other)?;
                tenant_admin::create_webhook_secret(&*store, &id)
                    .await
                    .map_err(admin_failure)
            })?;
            println!("{}", secret.expose());
        }
    }
    Ok(())
}

fn admin_failure(error: tenant_admin::AdminError) -> Failure {
    match error {
        unknown @ tenant_admin::AdminError::UnknownTenant(_) => Failure::input(unknown),
        other => Failure::other(other),
    }
}
