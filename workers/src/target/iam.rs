//! Placeholder while the adapter is written (replaced in this work).

use super::{Holding, ReadBack, RevokeResult, Target, TargetError};
use async_trait::async_trait;
use revoke_shared::contract::{Identity, TargetKind};

pub struct IamTarget {
    instance: String,
}

impl IamTarget {
    pub async fn from_table(_table: &toml::Table, instance: &str) -> Result<IamTarget, String> {
        let _ = IamTarget { instance: instance.to_string() };
        Err("no real adapter for this kind in this build yet (remove the table to use the simulator)".into())
    }
}

#[async_trait]
impl Target for IamTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Cloud
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
