//! Subject identifiers (RFC 9493) of a case's person, in the format a receiver asked for: the
//! SET's `sub_id` (SSF 1.0). A case lacking what the format needs has no subject for that
//! receiver (never a wrong one).

use revoke_shared::config::ReceiverConfig;
use revoke_shared::contract::Identity;
use serde_json::{json, Value};

/// Why a receiver gets no SET for a case: a label for the metric and the log.
pub type SkipReason = &'static str;

/// The `sub_id` of `who` for receiver `r`, or why there is none.
pub fn subject(r: &ReceiverConfig, who: Option<&Identity>) -> Result<Value, SkipReason> {
    let who = who.ok_or("no_identity")?;
    let nonempty = |v: Option<&str>, why: SkipReason| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or(why)
    };
    match r.subject.as_str() {
        "email" => {
            Ok(json!({"format": "email", "email": nonempty(who.email.as_deref(), "no_email")?}))
        }
        format => {
            let value = match r.subject_from.as_str() {
                "email" => nonempty(who.email.as_deref(), "no_email")?,
                "username" => nonempty(who.username.as_deref(), "no_username")?,
                _ => nonempty(Some(&who.employee_id), "no_employee_id")?,
            };
            match format {
                "iss_sub" => Ok(json!({"format": "iss_sub",
                    "iss": nonempty(r.subject_iss.as_deref(), "no_subject_iss")?, "sub": value})),
                "opaque" => Ok(json!({"format": "opaque", "id": value})),
                _ => Err("unknown_subject_format"),
            }
        }
    }
}
