//! Placeholder while the adapter is written (replaced in this work).

use super::{Holding, ReadBack, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use revoke_shared::contract::{Identity, TargetKind};

pub struct LdapTarget {
    instance: String,
}

impl LdapTarget {
    pub fn from_table(_table: &toml::Table, instance: &str) -> Result<LdapTarget, String> {
        let _ = LdapTarget { instance: instance.to_string() };
        Err("no real adapter for this kind in this build yet (remove the table to use the simulator)".into())
    }
}

#[async_trait]
impl Target for LdapTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Directory
    }
    fn instance(&self) -> &str {
        &self.instance
    }
    fn principal(&self) -> &str {
        ""
    }
    async fn discover(&self, _who: &Identity) -> Result<Vec<Holding>, TargetError> {
        Err(TargetError::Permanent("not built".into()))
    }
    async fn revoke(&self, _who: &Identity, _what: &Holding) -> Result<RevokeResult, TargetError> {
        Err(TargetError::Permanent("not built".into()))
    }
    async fn verify(&self, _who: &Identity, _what: &Holding) -> Result<ReadBack, TargetError> {
        Err(TargetError::Permanent("not built".into()))
    }
}
