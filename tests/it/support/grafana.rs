//! What Grafana does with the shipped dashboards, for tests that run them without a Grafana
//! server (none runs in CI): template variables interpolated as Grafana's Prometheus data
//! source does it, and data links rendered for a clicked series and followed as Grafana reads
//! a dashboard URL.
//!
//! The model, from Grafana's documented behaviour:
//! - a single-value variable without "All" goes in as is, with `\` doubled (PromQL's escape);
//! - a multi-value or include-All variable has every regex metacharacter of each value
//!   escaped (`\\` before `$^*{}[]'+?.()|`, a `\` becomes four), one value alone, several as
//!   `(a|b)`; "All" with a custom all value inserts that value unescaped;
//! - `${var:queryparam}` is `var-var=v` per value (`var-var=$__all` for All), percent-encoded;
//!   `${__field.labels.x:percentencode}` / `${__data.fields.x:percentencode}` percent-encode the
//!   clicked series' label; without a format the raw value goes into the URL;
//! - a dashboard URL is read with URL-search-params rules (`+` is a space, `%XX` a byte, `&`
//!   separates, `#` starts the fragment), `var-x` once per value.
//!
//! Panels are evaluated at `$__rate_interval` = [`RATE_INTERVAL`] and `$__range` = [`RANGE`]
//! unless a test says otherwise.

use std::collections::BTreeMap;

use serde_json::Value;

use super::files_in;
use super::http::urlencode;

/// `$__rate_interval` as the tests set it.
pub const RATE_INTERVAL: &str = "1m";
/// `$__range` as the tests set it (a dashboard opened on its last hour).
pub const RANGE: &str = "1h";
/// `${__url_time_range}`.
pub const URL_TIME_RANGE: &str = "from=now-1h&to=now";

/// What a variable is set to, as in Grafana's picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    All,
    Values(Vec<String>),
}

impl Pick {
    pub fn one(value: &str) -> Pick {
        Pick::Values(vec![value.to_owned()])
    }
}

/// Variables set by name; a variable not named here is "All" (where the dashboard opens).
pub type Picks = BTreeMap<String, Pick>;

/// A template variable of a dashboard.
#[derive(Debug)]
pub struct Variable {
    pub name: String,
    pub kind: String,
    pub multi: bool,
    pub include_all: bool,
    pub all_value: Option<String>,
    /// A query variable's `label_values(...)` query.
    pub query: Option<String>,
}

/// A panel: its title, its targets' expressions, and the URLs of its data links (defaults and
/// overrides alike).
#[derive(Debug)]
pub struct Panel {
    pub title: String,
    pub exprs: Vec<String>,
    pub links: Vec<String>,
    /// The regular expressions of overrides that take every link away from matching series.
    pub unlinked: Vec<String>,
}

#[derive(Debug)]
pub struct Dashboard {
    pub uid: String,
    pub variables: Vec<Variable>,
    pub panels: Vec<Panel>,
}

/// The shipped dashboards (dashboards/*.json).
pub fn dashboards() -> Vec<Dashboard> {
    files_in("dashboards", ".json")
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read dashboard");
            let board: Value = serde_json::from_str(&text).expect("dashboard JSON");
            parse(&board)
        })
        .collect()
}

fn links_of(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["url"].as_str().map(str::to_owned))
        .collect()
}

fn parse(board: &Value) -> Dashboard {
    let variables = board["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| Variable {
            name: v["name"].as_str().expect("variable name").to_owned(),
            kind: v["type"].as_str().unwrap_or_default().to_owned(),
            multi: v["multi"].as_bool().unwrap_or(false),
            include_all: v["includeAll"].as_bool().unwrap_or(false),
            all_value: v["allValue"]
                .as_str()
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
            query: v["query"]["query"].as_str().map(str::to_owned),
        })
        .collect();
    let panels = board["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let mut links = links_of(&p["fieldConfig"]["defaults"]["links"]);
            let mut unlinked = Vec::new();
            for o in p["fieldConfig"]["overrides"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for prop in o["properties"].as_array().into_iter().flatten() {
                    if prop["id"] == "links" {
                        let urls = links_of(&prop["value"]);
                        if urls.is_empty() && o["matcher"]["id"] == "byRegexp" {
                            unlinked.push(o["matcher"]["options"].as_str().unwrap().to_owned());
                        }
                        links.extend(urls);
                    }
                }
            }
            Panel {
                title: p["title"].as_str().unwrap_or_default().to_owned(),
                exprs: p["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| t["expr"].as_str().expect("target expr").to_owned())
                    .collect(),
                links,
                unlinked,
            }
        })
        .collect();
    Dashboard {
        uid: board["uid"].as_str().expect("uid").to_owned(),
        variables,
        panels,
    }
}

/// Replaces every `$name`, `${name}` and `${name:format}` of `text` with what `value` says.
fn replace_vars(
    text: &str,
    mut value: impl FnMut(&str, Option<&str>) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let end = inner
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text}"))?;
            let (name, format) = match inner[..end].split_once(':') {
                Some((n, f)) => (n, Some(f)),
                None => (&inner[..end], None),
            };
            out.push_str(&value(name, format)?);
            rest = &inner[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
            } else {
                out.push_str(&value(&after[..len], None)?);
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A single value in a PromQL string, as Grafana's Prometheus data source escapes it.
fn regular_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// A value of a multi-value or include-All variable: regex metacharacters escaped for a
/// PromQL double-quoted string.
fn regex_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

impl Dashboard {
    pub fn variable(&self, name: &str) -> Result<&Variable, String> {
        self.variables
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| format!("dashboard {} has no variable {name}", self.uid))
    }

    fn pick<'a>(&self, picks: &'a Picks, name: &str) -> &'a Pick {
        picks.get(name).unwrap_or(&Pick::All)
    }

    /// `expr` as Grafana's Prometheus data source sends it with these variables, at
    /// [`RATE_INTERVAL`] and [`RANGE`].
    pub fn interpolate(&self, expr: &str, picks: &Picks) -> Result<String, String> {
        self.interpolate_with(expr, picks, RATE_INTERVAL, RANGE)
    }

    /// [`Dashboard::interpolate`] with another `$__rate_interval` and `$__range`.
    pub fn interpolate_with(
        &self,
        expr: &str,
        picks: &Picks,
        rate_interval: &str,
        range: &str,
    ) -> Result<String, String> {
        replace_vars(expr, |name, format| {
            match name {
                "__rate_interval" => return Ok(rate_interval.to_owned()),
                "__range" => return Ok(range.to_owned()),
                _ => {}
            }
            if let Some(f) = format {
                return Err(format!("{expr}: format {f} of ${name} is not modelled"));
            }
            let var = self.variable(name)?;
            match self.pick(picks, name) {
                Pick::All => {
                    if !var.include_all {
                        return Err(format!("{}: ${name} has no All", self.uid));
                    }
                    var.all_value.clone().ok_or_else(|| {
                        format!("{}: ${name}: All without a custom all value", self.uid)
                    })
                }
                Pick::Values(values) if !var.multi && !var.include_all => match &values[..] {
                    [one] => Ok(regular_escape(one)),
                    _ => Err(format!("{}: ${name} takes one value: {values:?}", self.uid)),
                },
                Pick::Values(values) => {
                    let escaped: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
                    Ok(match &escaped[..] {
                        [one] => one.clone(),
                        _ => format!("({})", escaped.join("|")),
                    })
                }
            }
        })
    }

    /// A data link's URL for a clicked series (its labels, or a table row's fields), with the
    /// dashboard's variables set as in `picks`.
    pub fn render_link(
        &self,
        url: &str,
        labels: &BTreeMap<String, String>,
        picks: &Picks,
    ) -> Result<String, String> {
        replace_vars(url, |name, format| {
            if name == "__url_time_range" {
                return Ok(URL_TIME_RANGE.to_owned());
            }
            if let Some(label) = name
                .strip_prefix("__field.labels.")
                .or_else(|| name.strip_prefix("__data.fields."))
            {
                let v = labels
                    .get(label)
                    .ok_or_else(|| format!("{url}: the series has no {label}: {labels:?}"))?;
                return match format {
                    Some("percentencode") => Ok(urlencode(v)),
                    None | Some("raw") => Ok(v.clone()),
                    Some(f) => Err(format!("{url}: format {f} is not modelled")),
                };
            }
            if format != Some("queryparam") {
                return Err(format!("{url}: ${{{name}}} is not modelled"));
            }
            let var = self.variable(name)?;
            if var.kind == "datasource" {
                return Ok(format!("var-{name}=prometheus"));
            }
            Ok(match self.pick(picks, name) {
                Pick::All => format!("var-{name}=$__all"),
                Pick::Values(values) => values
                    .iter()
                    .map(|v| format!("var-{name}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            })
        })
    }
}

/// `+` is a space, `%XX` a byte (URL search parameters).
fn form_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape in {text}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| format!("{text}: {e}"))
}

/// The dashboard a URL (`/d/<uid>/...?var-x=...`, Grafana's base stripped) opens, and the
/// variables it sets there. Fails on what Grafana would not read as meant: a `#` (the rest is
/// a fragment), an unknown dashboard or variable, a parameter that is not a variable or the
/// time range, several values for a single-value variable, All where there is none.
pub fn follow<'a>(url: &str, boards: &'a [Dashboard]) -> Result<(&'a Dashboard, Picks), String> {
    if url.contains('#') {
        return Err(format!("{url}: `#` starts a fragment, the rest is lost"));
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let uid = path
        .strip_prefix("/d/")
        .and_then(|p| p.split('/').next())
        .ok_or_else(|| format!("{url}: not a dashboard URL"))?;
    let board = boards
        .iter()
        .find(|b| b.uid == uid)
        .ok_or_else(|| format!("{url}: no dashboard {uid}"))?;
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{url}: {part} is not key=value"))?;
        let (k, v) = (form_decode(k)?, form_decode(v)?);
        if let Some(name) = k.strip_prefix("var-") {
            board.variable(name)?;
            values.entry(name.to_owned()).or_default().push(v);
        } else if !matches!(k.as_str(), "from" | "to") {
            return Err(format!("{url}: unknown parameter {k}"));
        }
    }
    let mut picks = Picks::new();
    for (name, vs) in values {
        let var = board.variable(&name)?;
        let pick = if vs == ["$__all"] {
            if !var.include_all {
                return Err(format!("{url}: {name} has no All"));
            }
            Pick::All
        } else {
            if vs.len() > 1 && !var.multi {
                return Err(format!("{url}: {name} takes one value, got {vs:?}"));
            }
            Pick::Values(vs)
        };
        picks.insert(name, pick);
    }
    Ok((board, picks))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = r"Claims & Returns (EU/UK) [Tier 1+2] | 100% #1 \ v2.0";

    fn board() -> Dashboard {
        parse(&serde_json::json!({
            "uid": "q",
            "templating": {"list": [
                {"name": "datasource", "type": "datasource"},
                {"name": "queue", "type": "query", "multi": false, "includeAll": false},
                {"name": "channel", "type": "query", "multi": true, "includeAll": true, "allValue": ".*"},
            ]},
            "panels": [],
        }))
    }

    #[test]
    fn interpolation_escapes_as_grafana_does() {
        let b = board();
        let picks = Picks::from([
            ("queue".to_owned(), Pick::one(NAME)),
            (
                "channel".to_owned(),
                Pick::Values(vec!["a.b".into(), r"c\d".into()]),
            ),
        ]);
        assert_eq!(
            b.interpolate(
                r#"x{queue="$queue",channel=~"${channel}"}[$__rate_interval]"#,
                &picks
            )
            .unwrap(),
            r#"x{queue="Claims & Returns (EU/UK) [Tier 1+2] | 100% #1 \\ v2.0",channel=~"(a\\.b|c\\\\d)"}[1m]"#
        );
        assert_eq!(
            b.interpolate(r#"channel=~"$channel""#, &Picks::new())
                .unwrap(),
            r#"channel=~".*""#
        );
        assert!(b.interpolate("$nothing", &Picks::new()).is_err());
    }

    #[test]
    fn a_link_resolves_only_when_its_values_are_encoded() {
        let boards = [board()];
        let labels = BTreeMap::from([("queue".to_owned(), NAME.to_owned())]);
        let picks = Picks::from([(
            "channel".to_owned(),
            Pick::Values(vec!["chat".into(), "a b".into()]),
        )]);
        let good = boards[0]
            .render_link(
                "/d/q/x?${datasource:queryparam}&var-queue=${__field.labels.queue:percentencode}&${channel:queryparam}&${__url_time_range}",
                &labels,
                &picks,
            )
            .unwrap();
        let (to, got) = follow(&good, &boards).unwrap();
        assert_eq!(to.uid, "q");
        assert_eq!(got["queue"], Pick::one(NAME));
        assert_eq!(got["channel"], picks["channel"]);
        // The raw label: `&` splits it, `+` turns to a space, `#` cuts the URL.
        let raw = boards[0]
            .render_link("/d/q/x?var-queue=${__field.labels.queue}", &labels, &picks)
            .unwrap();
        assert!(follow(&raw, &boards).is_err(), "{raw}");
        let all = boards[0]
            .render_link("/d/q/x?${channel:queryparam}", &labels, &Picks::new())
            .unwrap();
        assert_eq!(follow(&all, &boards).unwrap().1["channel"], Pick::All);
        assert!(follow("/d/other/x", &boards).is_err());
        assert!(follow("/d/q/x?var-queue=a&var-queue=b", &boards).is_err());
    }
}
