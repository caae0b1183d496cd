use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Turns payloads into the bytes the log stores and back.
pub trait Codec<P>: Send + Sync + 'static {
    /// Encodes a payload.
    fn encode(&self, payload: &P) -> Result<Vec<u8>, String>;
    /// Decodes bytes written by [`Codec::encode`].
    fn decode(&self, bytes: &[u8]) -> Result<P, String>;
}

/// A [`Codec`] writing payloads as JSON with serde.
pub struct JsonCodec<P>(PhantomData<fn() -> P>);

impl<P> JsonCodec<P> {
    /// A JSON codec for `P`.
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P> Default for JsonCodec<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> std::fmt::Debug for JsonCodec<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonCodec")
    }
}

impl<P: Serialize + DeserializeOwned + 'static> Codec<P> for JsonCodec<P> {
    fn encode(&self, payload: &P) -> Result<Vec<u8>, String> {
        serde_json::to_vec(payload).map_err(|e| e.to_string())
    }

    fn decode(&self, bytes: &[u8]) -> Result<P, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }
}
