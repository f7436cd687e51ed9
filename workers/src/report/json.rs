//! The report as JSON: an array of row objects (full-precision times, RFC 3339).

use super::model::Row;

/// The report as a JSON array of row objects.
pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).expect("rows serialise")
}
