//! `RareList<T>`: a list that is almost always empty, one word wide. A target's replaced and
//! late reports are kept in two of these; a `Vec` is three words even when empty, and the
//! verifier holds five targets for every open or held case (issue 16: <= 2 KiB per case). On the
//! wire and in the JSON Schema it is a plain array.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RareList<T>(Option<Box<Vec<T>>>);

impl<T> Default for RareList<T> {
    fn default() -> Self {
        RareList(None)
    }
}

impl<T> RareList<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// As the slice's (a path serde's `skip_serializing_if` can name).
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn push(&mut self, item: T) {
        self.0.get_or_insert_with(Box::default).push(item);
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Keeps the newest `n` (the last pushed), dropping the oldest.
    pub fn keep_last(&mut self, n: usize) {
        if let Some(v) = self.0.as_mut() {
            let drop = v.len().saturating_sub(n);
            v.drain(..drop);
            if v.is_empty() {
                self.0 = None;
            }
        }
    }
}

impl<T> std::ops::Deref for RareList<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T> std::ops::DerefMut for RareList<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.0.as_deref_mut().map_or(&mut [], Vec::as_mut_slice)
    }
}

impl<T> From<Vec<T>> for RareList<T> {
    fn from(v: Vec<T>) -> Self {
        RareList((!v.is_empty()).then(|| Box::new(v)))
    }
}

impl<'a, T> IntoIterator for &'a RareList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Serialize> Serialize for RareList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RareList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::deserialize(d).map(RareList::from)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for RareList<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Vec::<T>::schema_name()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Vec::<T>::json_schema(g)
    }

    fn inline_schema() -> bool {
        Vec::<T>::inline_schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_word_empty_and_a_plain_array_on_the_wire() {
        assert_eq!(std::mem::size_of::<RareList<[u8; 100]>>(), 8);
        let mut l: RareList<u32> = serde_json::from_str("[]").unwrap();
        assert!(l.is_empty() && l == RareList::new());
        assert_eq!(serde_json::to_string(&l).unwrap(), "[]");
        for i in 1..=5 {
            l.push(i);
        }
        l.keep_last(3);
        assert_eq!(&*l, &[3, 4, 5]);
        assert_eq!(serde_json::to_string(&l).unwrap(), "[3,4,5]");
        assert_eq!(serde_json::from_str::<RareList<u32>>("[3,4,5]").unwrap(), l);
        l.keep_last(0);
        assert_eq!(l, RareList::new());
    }
}
