//! A value read from what a config names (the signing keys' secrets, the fleet secret), kept
//! with the config.

use std::any::Any;
use std::sync::{Arc, Mutex};

/// What was read from the environment variables or files a section names, kept so that it is
/// read once and shared by the clones of one config, and read again only when where it comes
/// from (`K`) changed (a config built in code and edited afterwards). The value's type is left
/// open (`Any`) because it belongs to `crate::signing`, which this data module must not depend
/// on; the one who reads names the type.
pub(crate) struct ReadOnce<K>(Arc<Mutex<Option<Kept<K>>>>);

/// Where a value was read from, and the value.
type Kept<K> = (K, Arc<dyn Any + Send + Sync>);

impl<K> Clone for ReadOnce<K> {
    fn clone(&self) -> Self {
        ReadOnce(Arc::clone(&self.0))
    }
}

impl<K> Default for ReadOnce<K> {
    fn default() -> Self {
        ReadOnce(Arc::default())
    }
}

impl<K: PartialEq + Clone> ReadOnce<K> {
    /// The value kept if it was read from `from`, else what `read` returns (kept when it is
    /// `Ok`). The lock is held while reading, so callers at once read once.
    pub(crate) fn get_or_read<V: Any + Send + Sync>(
        &self,
        from: &K,
        read: impl FnOnce() -> Result<V, String>,
    ) -> Result<Arc<V>, String> {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((was, value)) = kept.as_ref() {
            if was == from {
                if let Ok(value) = Arc::clone(value).downcast::<V>() {
                    return Ok(value);
                }
            }
        }
        let value = Arc::new(read()?);
        *kept = Some((
            from.clone(),
            Arc::clone(&value) as Arc<dyn Any + Send + Sync>,
        ));
        Ok(value)
    }
}
