//! The published contracts, checked by the tools integrators use (README's test command):
//! the JSON Schemas in docs/contracts/schemas match the contract types and compile under ajv's
//! strict mode; the HR schemas and `parse_hr_event` agree on a corpus (`ajv`); the AsyncAPI 3
//! document validates (`asyncapi validate`) and covers every topic. Each check is also shown to
//! fail on a broken copy of its object.
//!
//! The tools come from `tests/tools` (npm, pinned by its lock file), which `tests/run`
//! installs; without them these tests fail with what to run.

mod asyncapi;
mod drift;
mod hr_corpus;
mod tools;
