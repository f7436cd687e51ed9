//! `--target`: a target kind as the command line spells it, its wire name
//! (`directory`, `saas`, `cloud`, `vault`, `cicd`).

use clap::builder::{PossibleValuesParser, TypedValueParser};
use revoke_shared::contract::TargetKind;

/// Accepts exactly the wire names of `TargetKind::ALL` (listed as the possible values in
/// `--help` and in the error for any other word) and parses them with `TargetKind`'s `FromStr`.
pub fn target_kind() -> impl TypedValueParser<Value = TargetKind> {
    PossibleValuesParser::new(TargetKind::ALL.map(TargetKind::as_str))
        .try_map(|name| name.parse::<TargetKind>())
}
