//! The landing page at `/`: what this process is and how each source is doing, in the shape
//! of exporter-toolkit's page (name, version, description, links) plus one line per source.
//!
//! Source names and error texts come from config and from the upstream API, so every piece of
//! text from the view is HTML-escaped; the page must never become a script injection point.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

use super::{ShardSummary, SourceStatus};

const NAME: &str = "SmartAssist Exporter";
const DESCRIPTION: &str = "Prometheus exporter for Kore.ai SmartAssist contact-center KPIs";

/// Styling kept tiny and inline, like the toolkit's: the page must work with no assets.
const CSS: &str = "body{font-family:sans-serif;margin:0}\
nav{background:#e6522c;color:#fff;font-size:1.5em;padding:.5em 1em}\
.main{padding:0 1em}\
table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}\
.up{color:#060}.down{color:#b00}.pending{color:#666}";

/// The page for `version`, with links to `telemetry_path` and one row per source.
pub(crate) fn render(
    version: &str,
    telemetry_path: &str,
    sources: &[SourceStatus],
    shard: Option<&ShardSummary>,
) -> String {
    let mut html = String::with_capacity(2048 + 256 * sources.len());
    let path = escape(telemetry_path);
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        html,
        "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{NAME}</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n<nav>{NAME}</nav>\n<div class=\"main\">\n\
         <h3>{DESCRIPTION}</h3>\n<div>Version: {version}</div>\n<ul>\n\
         <li><a href=\"{path}\">Metrics</a>: {path}</li>\n\
         <li><a href=\"/-/healthy\">Health</a>: /-/healthy</li>\n\
         <li><a href=\"/-/ready\">Readiness</a>: /-/ready</li>\n</ul>\n",
        version = escape(version),
    );
    if let Some(shard) = shard {
        let _ = writeln!(
            html,
            "<h3>Shard {spec}</h3>\n<p>This exporter is shard {spec} (<code>--shard</code>): it polls the {n} sources below.",
            spec = escape(&shard.spec),
            n = sources.len(),
        );
        if shard.elsewhere.is_empty() {
            html.push_str(" Other shards poll none of the config's sources.</p>\n");
        } else {
            let _ = write!(
                html,
                " Other shards poll the config's other {}: ",
                shard.elsewhere.len()
            );
            let list: Vec<String> = shard
                .elsewhere
                .iter()
                .map(|(name, owner)| format!("{} (shard {owner})", escape(name)))
                .collect();
            html.push_str(&list.join(", "));
            html.push_str(".</p>\n");
        }
    }
    html.push_str("<h3>Sources</h3>\n");
    if sources.is_empty() {
        html.push_str("<p>No sources configured.</p>\n");
    } else {
        html.push_str(
            "<table>\n<tr><th>Source</th><th>Status</th><th>Last success</th>\
             <th>Watermark</th></tr>\n",
        );
        for s in sources {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.name),
                status_cell(s),
                time_cell(s.last_success),
                time_cell(s.watermark),
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str("</div>\n</body>\n</html>\n");
    html
}

fn status_cell(s: &SourceStatus) -> String {
    match (s.up, s.last_error.as_deref()) {
        (None, _) => "<span class=\"pending\">not polled yet</span>".to_owned(),
        (Some(true), _) => "<span class=\"up\">up</span>".to_owned(),
        (Some(false), None | Some("")) => "<span class=\"down\">down</span>".to_owned(),
        (Some(false), Some(err)) => format!("<span class=\"down\">down</span>: {}", escape(err)),
    }
}

fn time_cell(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// Escapes the five characters that matter in HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain-name_1"), "plain-name_1");
    }

    #[test]
    fn one_row_per_source_with_its_status() {
        let sources = vec![
            SourceStatus {
                name: "prod".into(),
                up: Some(true),
                last_success: Some(at("2026-01-02T03:04:05.678Z")),
                last_error: None,
                watermark: Some(at("2026-01-02T03:00:00Z")),
            },
            SourceStatus {
                name: "eu".into(),
                up: Some(false),
                last_error: Some("HTTP 401 <unauthorized>".into()),
                ..SourceStatus::default()
            },
            SourceStatus {
                name: "new".into(),
                ..SourceStatus::default()
            },
        ];
        let html = render("1.2.3", "/stats", &sources, None);
        assert!(!html.contains("Shard"), "no shard section without --shard");
        assert!(html.contains("Version: 1.2.3"));
        assert!(html.contains("<a href=\"/stats\">"));
        assert!(html.contains(
            "<tr><td>prod</td><td><span class=\"up\">up</span></td>\
             <td>2026-01-02T03:04:05Z</td><td>2026-01-02T03:00:00Z</td></tr>"
        ));
        assert!(html.contains(
            "<tr><td>eu</td><td><span class=\"down\">down</span>: \
             HTTP 401 &lt;unauthorized&gt;</td><td>never</td><td>never</td></tr>"
        ));
        assert!(
            html.contains("<tr><td>new</td><td><span class=\"pending\">not polled yet</span></td>")
        );
    }

    #[test]
    fn says_so_when_there_are_no_sources() {
        assert!(render("0", "/metrics", &[], None).contains("No sources configured."));
    }

    #[test]
    fn a_shard_says_which_sources_other_shards_poll() {
        let sources = [SourceStatus {
            name: "prod".into(),
            ..SourceStatus::default()
        }];
        let shard = ShardSummary {
            spec: "1/3".into(),
            elsewhere: vec![("eu<1>".into(), 0), ("us".into(), 2)],
        };
        let html = render("0", "/metrics", &sources, Some(&shard));
        assert!(html.contains("<h3>Shard 1/3</h3>"), "{html}");
        assert!(html.contains("it polls the 1 sources below."), "{html}");
        assert!(
            html.contains(
                "Other shards poll the config's other 2: eu&lt;1&gt; (shard 0), us (shard 2).</p>"
            ),
            "{html}"
        );
        let alone = ShardSummary {
            spec: "0/2".into(),
            elsewhere: Vec::new(),
        };
        assert!(render("0", "/metrics", &sources, Some(&alone))
            .contains("Other shards poll none of the config's sources."));
    }
}
