//! Reading checkpoints written by older versions.
//!
//! Each step takes the parsed JSON of one version to the next, on the JSON tree, so old
//! formats need no Rust types of their own.
//!
//! - 1 → 2: each source gains `open`, the conversations in progress it follows. A version 1
//!   checkpoint followed none (its pending rescans will find those still running).
//! - 2 → 3: the families of hold, time to accept, callback wait, transfers, supervisor joins,
//!   dispositions, reasons and bots, all empty (a version 2 exporter counted none of them), and
//!   no queue names learned yet. The new histograms and their buckets are `null`: nothing was
//!   counted in them, so whatever buckets the config has fit.
//! - 3 → 4: `shard` 0 of 1: every exporter before version 4 polled its whole config.

use serde_json::Value;

/// One step: the tree of version `from` in, the tree of version `from + 1` out.
pub type Migration = fn(Value) -> Result<Value, String>;

/// `(from, step)` for every version this build can upgrade from.
pub const MIGRATIONS: &[(u64, Migration)] = &[(1, v1_to_v2), (2, v2_to_v3), (3, v3_to_v4)];

/// Version 1 → 2: an empty `open` list in every source.
fn v1_to_v2(mut value: Value) -> Result<Value, String> {
    let sources = value
        .get_mut("sources")
        .and_then(Value::as_object_mut)
        .ok_or("no sources object")?;
    for (name, source) in sources.iter_mut() {
        let source = source
            .as_object_mut()
            .ok_or_else(|| format!("sources.{name} is not an object"))?;
        source
            .entry("open")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    value["format_version"] = Value::from(2);
    Ok(value)
}

/// Version 2 → 3: the new families, empty, in every source and queue series.
fn v2_to_v3(mut value: Value) -> Result<Value, String> {
    let buckets = value
        .get_mut("buckets")
        .and_then(Value::as_object_mut)
        .ok_or("no buckets object")?;
    for family in ["hold", "agent_accept", "callback_wait"] {
        buckets.insert(family.into(), Value::Null);
    }
    let sources = value
        .get_mut("sources")
        .and_then(Value::as_object_mut)
        .ok_or("no sources object")?;
    for (name, source) in sources.iter_mut() {
        let kpis = source
            .get_mut("kpis")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("sources.{name}.kpis is not an object"))?;
        for list in ["reasons", "bot_sessions", "bot_escalations"] {
            kpis.insert(list.into(), Value::Array(Vec::new()));
        }
        kpis.insert("queue_names".into(), Value::Object(Default::default()));
        let queues = kpis
            .get_mut("queues")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| format!("sources.{name}.kpis.queues is not a list"))?;
        for (i, series) in queues.iter_mut().enumerate() {
            let series = series
                .as_object_mut()
                .ok_or_else(|| format!("sources.{name}.kpis.queues[{i}] is not an object"))?;
            for counter in ["transfers", "supervisor_joins"] {
                series.insert(counter.into(), Value::from(0));
            }
            for histogram in ["callback_wait", "hold", "agent_accept"] {
                series.insert(histogram.into(), Value::Null);
            }
            series.insert("dispositions".into(), Value::Object(Default::default()));
        }
    }
    value["format_version"] = Value::from(3);
    Ok(value)
}

/// Version 3 → 4: written by an exporter that polled its whole config, shard 0 of 1.
fn v3_to_v4(mut value: Value) -> Result<Value, String> {
    let top = value.as_object_mut().ok_or("not an object")?;
    top.insert("shard".into(), serde_json::json!({"index": 0, "count": 1}));
    value["format_version"] = Value::from(4);
    Ok(value)
}

/// Why a checkpoint's version cannot be read by this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// No `format_version`, or not an integer.
    #[error("no format_version")]
    Missing,
    /// Written by a newer exporter.
    #[error("format_version {0} is newer than this exporter understands")]
    Future(u64),
    /// Older than any version a step exists for.
    #[error("format_version {0} is too old to migrate")]
    Unsupported(u64),
    /// A step failed.
    #[error("migrating from format_version {from}: {message}")]
    Failed {
        /// The version the step started from.
        from: u64,
        /// Why.
        message: String,
    },
}

fn version_of(value: &Value) -> Result<u64, VersionError> {
    value
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or(VersionError::Missing)
}

/// Applies `migrations` until `value` is at `current`.
pub fn upgrade(
    mut value: Value,
    current: u64,
    migrations: &[(u64, Migration)],
) -> Result<Value, VersionError> {
    loop {
        let version = version_of(&value)?;
        if version == current {
            return Ok(value);
        }
        if version > current {
            return Err(VersionError::Future(version));
        }
        let (_, step) = migrations
            .iter()
            .find(|(from, _)| *from == version)
            .ok_or(VersionError::Unsupported(version))?;
        value = step(value).map_err(|message| VersionError::Failed {
            from: version,
            message,
        })?;
        if version_of(&value)? != version + 1 {
            return Err(VersionError::Failed {
                from: version,
                message: "the step did not advance format_version by one".into(),
            });
        }
    }
}
