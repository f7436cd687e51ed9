//! `revoke`: the target workers, the verifier and the commands around them.
//!
//! - `adapters`: the target contract, the adapters and the in-memory simulators.
//! - `revocation`: discover → revoke → read back, with retries and evidence.
//! - `restoration`: undoing a revocation from its evidence (rescinds).
//! - `worker`: the Kafka shell of a target worker and the restore requests it alone answers.
//! - `verifier`: the pure case state machine and its Kafka shell.
//! - `watch`: access that comes back after a case closed (`revoke verify`, `revoke watch`).
//! - `webhook`: delivering escalations to a webhook (`revoke webhook`).
//! - `delivery_health`: the failing/stuck gauges and `/healthz` of `revoke webhook` and
//!   `revoke signals`.
//! - `evidence`: tamper-evident evidence: chained, signed case versions and their checks.
//! - `fleet`: starting workers, the verifier and the webhook delivery in one process (demo, tests).
//! - `cases`: reading the case changelog and rendering a case (for `revoke case`, the demo and
//!   tests).
//! - `report`: the audit report's rows and their CSV, JSON and HTML forms.
//! - `hr`: building and publishing HR events (`revoke publish`, the demo, tests).
//! - `replay`: which past terminations `revoke replay` re-drives, read from the terminations
//!   topic by record time and judged by the verifier's replay rules.
//! - `signed_report`: a fleet-signed report on the confirmations topic, keyed by identity.
//! - `topics`: revoke's Kafka topics and creating them.
//! - `cli`: the command line, one file per command (`cli/`); nothing else imports from it.

pub mod adapters;
pub mod cases;
pub mod cli;
pub mod delivery_health;
pub mod embedded;
pub mod evidence;
pub mod fleet;
pub mod hr;
pub mod replay;
pub mod report;
pub mod restoration;
pub mod revocation;
pub mod signals;
pub mod signed_report;
pub mod topics;
pub mod verifier;
pub mod watch;
pub mod webhook;
pub mod worker;
