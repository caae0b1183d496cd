//! The entity objects of XRPC outputs: `net.rhiz.entity.defs#entityView`
//! and the attester object of `listAttestations` (CONTRACT.md §3.2, §3.5,
//! §7 #12), built from the entities of the answer cache's `profile` class
//! (the REST entity objects), read for a whole page at once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rhiz_cache::CacheError;
use rhiz_protocol::Did;
use serde::Serialize;

use super::entities::EntityObject;
use super::rfc3339;
use crate::answer_cache::PROFILE;
use crate::AppState;

/// The handle of a DID whose handle is unknown (AT Protocol convention).
const INVALID_HANDLE: &str = "handle.invalid";
/// `entityView.displayName` is at most this many UTF-8 bytes.
const MAX_DISPLAY_NAME_BYTES: usize = 200;

/// The entities of some DIDs, looked up once each.
#[derive(Debug, Default)]
pub(super) struct Profiles(HashMap<Did, EntityObject>);

impl Profiles {
    /// Looks up every distinct DID of `dids` in the `profile` class: the
    /// ones it does not hold are read from the store in one query, and
    /// cached for the next page.
    pub(super) async fn load(state: &AppState, mut dids: Vec<Did>) -> Result<Self, CacheError> {
        dids.sort_unstable();
        dids.dedup();
        let keys: Vec<&str> = dids.iter().map(Did::as_str).collect();
        let store = Arc::clone(&state.store);
        let read = |asked: Vec<String>| async move {
            let asked = asked
                .iter()
                .map(|key| key.parse::<Did>())
                .collect::<Result<Vec<_>, _>>()?;
            let found = store.get_entities(&asked).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                found
                    .into_iter()
                    .map(|entity| entity.map(EntityObject::from))
                    .collect::<Vec<_>>(),
            )
        };
        let entities: Vec<Option<EntityObject>> = state
            .cache
            .get_or_compute_many(PROFILE, &keys, read)
            .await?;
        let found = dids
            .into_iter()
            .zip(entities)
            .filter_map(|(did, entity)| Some((did, entity?)))
            .collect();
        Ok(Profiles(found))
    }

    /// The `entityView` of `did`. Without a stored entity: handle
    /// `handle.invalid`, the DID as display name, unverified, and the Unix
    /// epoch as `createdAt` (required by the lexicon, unknown here).
    pub(super) fn entity_view(&self, did: &Did) -> EntityView {
        match self.0.get(did) {
            Some(entity) => EntityView {
                did: did.to_string(),
                handle: handle_of(entity),
                display_name: truncate(&entity.name, MAX_DISPLAY_NAME_BYTES),
                entity_type: Some(entity.entity_type.clone()),
                bio: entity.bio.clone(),
                avatar_url: entity.avatar_url.clone(),
                verified: entity.verified,
                created_at: entity.created_at.clone(),
                updated_at: Some(entity.updated_at.clone()),
            },
            None => EntityView {
                did: did.to_string(),
                handle: INVALID_HANDLE.to_owned(),
                display_name: truncate(did.as_str(), MAX_DISPLAY_NAME_BYTES),
                entity_type: None,
                bio: None,
                avatar_url: None,
                verified: false,
                created_at: rfc3339(DateTime::<Utc>::UNIX_EPOCH),
                updated_at: None,
            },
        }
    }

    /// The attester object: the TypeScript keys and the `entityView` keys,
    /// or only `did` and `handle.invalid` when no profile is known.
    pub(super) fn attester(&self, did: &Did) -> Attester {
        match self.0.get(did) {
            Some(entity) => Attester {
                did: did.to_string(),
                handle: handle_of(entity),
                profile: Some(AttesterProfile {
                    name: entity.name.clone(),
                    kind: entity.entity_type.clone(),
                    display_name: truncate(&entity.name, MAX_DISPLAY_NAME_BYTES),
                    entity_type: entity.entity_type.clone(),
                    verified: entity.verified,
                    created_at: entity.created_at.clone(),
                }),
            },
            None => Attester {
                did: did.to_string(),
                handle: INVALID_HANDLE.to_owned(),
                profile: None,
            },
        }
    }
}

fn handle_of(entity: &EntityObject) -> String {
    entity
        .handle
        .clone()
        .unwrap_or_else(|| INVALID_HANDLE.to_owned())
}

/// `text` cut to at most `max` UTF-8 bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// `net.rhiz.entity.defs#entityView`; absent optional fields are omitted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EntityView {
    did: String,
    handle: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<String>,
    verified: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

/// The attester of an `attestationView`.
#[derive(Debug, Serialize)]
pub(super) struct Attester {
    did: String,
    handle: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    profile: Option<AttesterProfile>,
}

/// The attester keys that need a stored profile.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttesterProfile {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    display_name: String,
    entity_type: String,
    verified: bool,
    created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_cut_on_a_character_boundary() {
        let long = "é".repeat(150); // 300 bytes
        let cut = truncate(&long, MAX_DISPLAY_NAME_BYTES);
        assert_eq!(cut.len(), 200);
        assert_eq!(truncate("abc", 200), "abc");
        assert_eq!(truncate("aé", 2), "a");
    }
}
