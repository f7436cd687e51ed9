//! The HR input contract as JSON Schema, in its three parts: the structured-mode event (the
//! envelope below, with `data` from [`HrData`]), binary mode's value ([`HrData`] alone) and
//! binary mode's `ce_*` headers (the envelope's attributes under their header names).
//!
//! The parser (`contract::hr`) reads attributes one by one to say exactly what is wrong, so the
//! envelope is a type of its own, for the schema only; `tests/tests/contracts.rs` checks on a
//! corpus that what this schema accepts and refuses is what `parse_hr_event` does.

use super::patterns;
use crate::contract::{
    HrData, CE_CONTENT_TYPE_HEADER, MAX_IDENTIFIER_BYTES, MAX_ID_BYTES, TYPE_RESCINDED_V1,
    TYPE_TERMINATION_V1,
};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

/// A termination or rescind on `hr.terminations`, CloudEvents 1.0 in structured content mode:
/// the Kafka value is this object, its key the `subject`. Attributes not named here
/// (CloudEvents extensions, such as the signature's `signature`, `signaturealg` and
/// `signaturekeyid`) are not read by the contract; a `null` attribute counts as absent. Not
/// expressed here: the key must equal `subject`, `data.identity.employee_id` must equal
/// `subject`, byte limits (stated as character limits), and the identity rules beyond the
/// pattern (NFKC form, one script, no look-alike of an ASCII name).
#[derive(JsonSchema)]
#[schemars(
    title = "HR termination event (CloudEvents 1.0, structured mode)",
    transform = terminations_need_effective_at
)]
#[allow(dead_code)] // a schema only: never built
struct StructuredEvent {
    /// The CloudEvents version: `1.0`.
    #[schemars(schema_with = "spec_version")]
    specversion: String,
    /// The event type; any other type (including another version) is refused.
    #[schemars(rename = "type", schema_with = "event_types")]
    kind: String,
    /// Who sent the event; with `id` it determines the case id (UUIDv5 of `source`, NUL, `id`).
    #[schemars(length(min = 1, max = MAX_IDENTIFIER_BYTES), pattern(patterns::identifier()))]
    source: String,
    /// Unique per event at its source.
    #[schemars(length(min = 1, max = MAX_IDENTIFIER_BYTES), pattern(patterns::identifier()))]
    id: String,
    /// The identity id: equal to the Kafka key and to `data.identity.employee_id`.
    #[schemars(length(min = 1, max = MAX_ID_BYTES), pattern(patterns::identity()))]
    subject: String,
    /// When the event happened, RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    time: String,
    /// If present, `application/json` or a `+json` type (parameters allowed).
    #[schemars(pattern(patterns::json_media_type()))]
    datacontenttype: Option<String>,
    /// Not read: revoke neither requires nor checks it, and `revoke publish` does not set it.
    /// The URI of this contract's data schema, if a producer wants one, is
    /// `urn:revoke:schema:hr-termination-data:v1`.
    #[schemars(schema_with = "anything")]
    dataschema: Option<String>,
    data: HrData,
    /// Refused: `data` must be JSON.
    #[schemars(schema_with = "refused")]
    data_base64: Option<String>,
}

fn spec_version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "const": "1.0" })
}

fn event_types(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "enum": [TYPE_TERMINATION_V1, TYPE_RESCINDED_V1] })
}

fn anything(_: &mut SchemaGenerator) -> Schema {
    json_schema!(true)
}

fn refused(_: &mut SchemaGenerator) -> Schema {
    json_schema!(false)
}

/// A termination's `data` must say when access must be gone; a rescind's need not. And the two
/// attributes described only to say how they are treated are not required.
fn terminations_need_effective_at(schema: &mut Schema) {
    if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
        required.retain(|name| name != "dataschema" && name != "data_base64");
    }
    schema.insert(
        "if".into(),
        serde_json::json!({
            "properties": { "type": { "const": TYPE_TERMINATION_V1 } },
            "required": ["type"]
        }),
    );
    schema.insert(
        "then".into(),
        serde_json::json!({
            "properties": {
                "data": {
                    "type": "object",
                    "required": ["effective_at"],
                    "properties": { "effective_at": { "type": "string" } }
                }
            }
        }),
    );
}

/// The structured-mode event.
pub fn structured(generator: SchemaGenerator) -> Schema {
    generator.into_root_schema_for::<StructuredEvent>()
}

/// Binary mode's value: `data` alone.
pub fn data(generator: SchemaGenerator) -> Schema {
    let mut schema = generator.into_root_schema_for::<HrData>();
    schema.insert(
        "title".into(),
        "HR termination event data (the Kafka value in binary mode; `data` in structured mode)"
            .into(),
    );
    schema.insert(
        "description".into(),
        "`effective_at` is required when the `ce_type` header is identity.termination.v1 \
         (a condition across headers and value that this schema cannot state)."
            .into(),
    );
    schema
}

/// Binary mode's headers: each attribute as `ce_<name>` (`datacontenttype` as
/// `content-type`), with the same rules. Header names are matched case-insensitively and the
/// first of repeated headers is read: neither is expressible in JSON Schema.
pub fn headers(generator: SchemaGenerator) -> Schema {
    let envelope = structured(generator);
    let header_name = |attribute: &str| match attribute {
        "datacontenttype" => CE_CONTENT_TYPE_HEADER.to_string(),
        other => format!("ce_{other}"),
    };
    let mut properties = serde_json::Map::new();
    if let Some(attrs) = envelope.get("properties").and_then(|p| p.as_object()) {
        for (name, rule) in attrs {
            if name != "data" && name != "data_base64" {
                properties.insert(header_name(name), rule.clone());
            }
        }
    }
    let required: Vec<String> = envelope
        .get("required")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .filter(|n| *n != "data")
        .map(header_name)
        .collect();
    let mut schema = json_schema!({
        "$schema": envelope.get("$schema").cloned().unwrap_or_default(),
        "title": "HR termination event headers (CloudEvents 1.0, Kafka binary mode)",
        "description": "The CloudEvents attributes as Kafka headers (UTF-8 values); a record with a ce_specversion header is read in binary mode. Other headers (extensions such as ce_signature) are not read by the contract.",
        "type": "object",
        "properties": properties,
        "required": required,
    });
    // The rule across headers and value (a termination's effective_at) lives in the data
    // schema's description; the headers' own `type` rule stays.
    schema.remove("if");
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemars::generate::SchemaSettings;

    fn generator() -> SchemaGenerator {
        SchemaSettings::draft07().for_deserialize().into_generator()
    }

    #[test]
    fn every_attribute_the_parser_reads_is_in_both_modes() {
        let envelope = structured(generator());
        let props = envelope.get("properties").unwrap().as_object().unwrap();
        let heads = headers(generator());
        let head_props = heads.get("properties").unwrap().as_object().unwrap();
        for name in [
            "specversion",
            "type",
            "source",
            "id",
            "subject",
            "time",
            "datacontenttype",
        ] {
            assert!(props.contains_key(name), "{name}");
            let header = if name == "datacontenttype" {
                CE_CONTENT_TYPE_HEADER.to_string()
            } else {
                format!("ce_{name}")
            };
            assert_eq!(props[name], head_props[&header], "{name}");
        }
        let required = envelope.get("required").unwrap();
        assert_eq!(
            required,
            &serde_json::json!([
                "specversion",
                "type",
                "source",
                "id",
                "subject",
                "time",
                "data"
            ])
        );
        assert_eq!(props["data_base64"]["not"], serde_json::json!({}));
    }
}
