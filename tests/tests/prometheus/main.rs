//! The fleet as Prometheus and Grafana see it, checked with the real tools.
//!
//! - `checks` (plain `cargo test`, files only): every alert of `deploy/prometheus/rules.yml` has
//!   a severity, a summary, a description and a `runbook_url` whose anchor is a heading of
//!   docs/runbook.md, and a promtool test where it fires and one where it does not; the rules
//!   and the dashboard read only documented metrics; the dashboard uses its data-source variable.
//! - `promtool` (`#[ignore]`d: needs Debian's `prometheus` package): `promtool check rules` and
//!   `promtool test rules` pass, and refuse broken copies of the rules.
//! - `scrape` (`#[ignore]`d: needs the real broker and Debian's `prometheus`): a real Prometheus
//!   scrapes five workers and a verifier running as processes, with the rules loaded; its HTTP API
//!   shows the series, their labels and their movement, every rule healthy, the one alert the
//!   test provokes, and every dashboard query evaluated (`dashboard`).
//!
//! The README's test command installs the package and runs the ignored tests.

mod checks;
mod dashboard;
mod files;
mod promtool;
mod scrape;
mod server;
