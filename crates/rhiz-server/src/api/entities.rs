//! REST `/api/v1/entities` (CONTRACT.md §2.1–§2.6). Reads go through the
//! answer cache (class `profile`); writes invalidate it before they answer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use rhiz_protocol::{AtUri, Cid, Did, Handle};
use rhiz_store::{Entity, EntityPatch, NewEntity, StoreError};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ApiError;
use super::json_body::JsonBody;
use super::validate::{Checks, Origin};
use crate::answer_cache::{self, handle_tag, DID_RESOLUTION, PROFILE};
use crate::{AppState, HandleResolver};

/// Entity types the REST API accepts.
const ENTITY_TYPES: &[&str] = &["person", "organization", "agent"];
/// Longest DID an entity may have.
const MAX_DID_CHARS: usize = 255;
/// Longest entity name.
const MAX_NAME_CHARS: usize = 255;
/// Longest entity bio.
const MAX_BIO_CHARS: usize = 1000;

/// The entity routes, relative to `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/entities", post(create_entity))
        .route("/entities/by-handle/{handle}", get(get_entity_by_handle))
        .route(
            "/entities/{*did}",
            get(get_entity).patch(update_entity).delete(delete_entity),
        )
}

/// The REST entity object (§2.1). Absent optional fields are `null`. It
/// is also the value of the answer cache's `profile` class, from which the
/// XRPC entity views are built ([`super::profiles`]).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EntityObject {
    pub(super) did: String,
    id: String,
    #[serde(rename = "type")]
    pub(super) entity_type: String,
    pub(super) name: String,
    pub(super) bio: Option<String>,
    pub(super) avatar_url: Option<String>,
    pub(super) handle: Option<String>,
    profile_uri: Option<String>,
    profile_cid: Option<String>,
    pub(super) verified: bool,
    pub(super) created_at: String,
    pub(super) updated_at: String,
}

impl From<Entity> for EntityObject {
    fn from(entity: Entity) -> Self {
        EntityObject {
            id: entity.did.to_string(),
            did: entity.did.into_string(),
            entity_type: entity.entity_type,
            name: entity.name,
            bio: entity.bio,
            avatar_url: entity.avatar_url,
            handle: entity.handle.map(Handle::into_string),
            profile_uri: entity.profile_uri.map(AtUri::into_string),
            profile_cid: entity.profile_cid.map(Cid::into_string),
            verified: entity.verified,
            created_at: rfc3339(entity.created_at),
            updated_at: rfc3339(entity.updated_at),
        }
    }
}

/// RFC 3339, UTC, millisecond precision, `Z` suffix (CONTRACT.md §1.3).
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Body of `POST /entities/`. Unknown keys are ignored (§1.2).
#[derive(Debug, Deserialize)]
struct CreateEntityBody {
    did: Option<String>,
    id: Option<String>,
    #[serde(rename = "type")]
    entity_type: Option<String>,
    name: Option<String>,
    bio: Option<String>,
    avatar_url: Option<String>,
    handle: Option<String>,
    profile_uri: Option<String>,
    profile_cid: Option<String>,
}

impl CreateEntityBody {
    /// Validates every field, reporting all problems at once.
    fn validate(self, now: DateTime<Utc>) -> Result<NewEntity, ApiError> {
        let mut checks = Checks::new(Origin::Body);
        let (key_field, key) = match (&self.did, &self.id) {
            (Some(did), _) => ("did", Some(did.as_str())),
            (None, Some(id)) => ("id", Some(id.as_str())),
            (None, None) => ("did", None),
        };
        let did = checks
            .required(key_field, key)
            .and_then(|did| checks.length(key_field, did, 1, MAX_DID_CHARS))
            .and_then(|did| checks.parse::<Did>(key_field, did));
        let entity_type = checks
            .required("type", self.entity_type.as_deref())
            .and_then(|t| checks.one_of("type", t, ENTITY_TYPES));
        let name = checks
            .required("name", self.name.as_deref())
            .and_then(|name| checks.length("name", name, 1, MAX_NAME_CHARS));
        if let Some(bio) = &self.bio {
            checks.length("bio", bio, 0, MAX_BIO_CHARS);
        }
        let handle = parse_optional::<Handle>(&mut checks, "handle", self.handle.as_deref());
        let profile_uri =
            parse_optional::<AtUri>(&mut checks, "profile_uri", self.profile_uri.as_deref());
        let profile_cid =
            parse_optional::<Cid>(&mut checks, "profile_cid", self.profile_cid.as_deref());
        checks.finish(|| {
            Some(NewEntity {
                did: did?,
                handle: handle?,
                name: name?.to_owned(),
                entity_type: entity_type?.to_owned(),
                bio: self.bio,
                avatar_url: self.avatar_url,
                profile_uri: profile_uri?,
                profile_cid: profile_cid?,
                created_at: now,
            })
        })
    }
}

/// Parses an optional value: `Some(None)` when absent, `None` when invalid.
fn parse_optional<T>(checks: &mut Checks, field: &str, value: Option<&str>) -> Option<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match value {
        None => Some(None),
        Some(value) => checks.parse::<T>(field, value).map(Some),
    }
}

/// Body of `PATCH /entities/{did}`: absent keys stay, `null` clears.
#[derive(Debug, Deserialize)]
struct PatchEntityBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    avatar_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    handle: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    profile_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    profile_cid: Option<Option<String>>,
}

/// Deserializes a key that is present (possibly `null`) as `Some(…)`;
/// together with `#[serde(default)]` an absent key stays `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl PatchEntityBody {
    fn validate(self) -> Result<EntityPatch, ApiError> {
        let mut checks = Checks::new(Origin::Body);
        match &self.name {
            Some(None) => {
                checks.push("name", "string_type", "name may not be null");
            }
            Some(Some(name)) => {
                checks.length("name", name, 1, MAX_NAME_CHARS);
            }
            None => {}
        }
        if let Some(Some(bio)) = &self.bio {
            checks.length("bio", bio, 0, MAX_BIO_CHARS);
        }
        let handle = parse_patch::<Handle>(&mut checks, "handle", &self.handle);
        let profile_uri = parse_patch::<AtUri>(&mut checks, "profile_uri", &self.profile_uri);
        let profile_cid = parse_patch::<Cid>(&mut checks, "profile_cid", &self.profile_cid);
        checks.finish(|| {
            Some(EntityPatch {
                name: self.name.flatten(),
                entity_type: None,
                bio: self.bio,
                avatar_url: self.avatar_url,
                handle: handle?,
                profile_uri: profile_uri?,
                profile_cid: profile_cid?,
            })
        })
    }
}

/// Parses a patch value: `Some(None)` if absent, `Some(Some(None))` if null,
/// `None` if invalid.
fn parse_patch<T>(
    checks: &mut Checks,
    field: &str,
    value: &Option<Option<String>>,
) -> Option<Option<Option<T>>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    match value {
        None => Some(None),
        Some(value) => parse_optional(checks, field, value.as_deref()).map(Some),
    }
}

async fn create_entity(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateEntityBody>,
) -> Result<impl IntoResponse, ApiError> {
    let new = body.validate(Utc::now())?;
    match state.store.create_entity(&new).await {
        Ok(entity) => {
            answer_cache::invalidate_entity(&state.cache, &entity.did, entity.handle.as_ref())
                .await;
            Ok((StatusCode::CREATED, Json(EntityObject::from(entity))))
        }
        Err(StoreError::Conflict { field: "did", .. }) => Err(ApiError::bad_request(format!(
            "entity {} already exists",
            new.did
        ))),
        Err(StoreError::Conflict {
            field: "handle", ..
        }) => Err(handle_taken(new.handle.as_ref())),
        Err(error) => Err(error.into()),
    }
}

/// The entity of `did` as served, from the cache (class `profile`, tagged
/// with the DID).
async fn entity_view(state: &AppState, did: &Did) -> Result<Option<EntityObject>, ApiError> {
    let store = Arc::clone(&state.store);
    let owned = did.clone();
    let compute = move || async move {
        Ok::<_, StoreError>(store.get_entity(&owned).await?.map(EntityObject::from))
    };
    Ok(state
        .cache
        .get_or_compute(PROFILE, did.as_str(), &[did.as_str()], compute)
        .await?)
}

async fn get_entity(
    State(state): State<AppState>,
    Path(did): Path<String>,
) -> Result<Json<EntityObject>, ApiError> {
    let not_found = || ApiError::not_found(format!("entity {did} not found"));
    let parsed: Did = did.parse().map_err(|_| not_found())?;
    entity_view(&state, &parsed)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// The stored entity holding `handle`. The handle's DID is cached (key
/// and tag `handle:<handle>`, invalidated when an entity takes the handle),
/// the entity through [`entity_view`]; an entity that no longer holds the
/// handle means the cached DID is out of date, and the store answers.
async fn entity_by_stored_handle(
    state: &AppState,
    handle: &Handle,
) -> Result<Option<EntityObject>, ApiError> {
    let key = handle_tag(handle);
    let store = Arc::clone(&state.store);
    let owned = handle.clone();
    let compute = move || async move {
        let found = store.get_entity_by_handle(&owned).await?;
        Ok::<_, StoreError>(found.map(|entity| entity.did.into_string()))
    };
    let did: Option<String> = state
        .cache
        .get_or_compute(PROFILE, &key, &[key.as_str()], compute)
        .await?;
    let Some(did) = did.and_then(|did| did.parse::<Did>().ok()) else {
        return Ok(None);
    };
    match entity_view(state, &did).await? {
        Some(entity) if entity.handle.as_deref() == Some(handle.as_str()) => Ok(Some(entity)),
        _ => Ok(state
            .store
            .get_entity_by_handle(handle)
            .await?
            .map(EntityObject::from)),
    }
}

async fn get_entity_by_handle(
    State(state): State<AppState>,
    Path(handle): Path<String>,
) -> Result<Json<EntityObject>, ApiError> {
    let not_found = || ApiError::not_found(format!("no entity with handle {handle}"));
    let parsed: Handle = handle.parse().map_err(|_| not_found())?;
    if let Some(entity) = entity_by_stored_handle(&state, &parsed).await? {
        return Ok(Json(entity));
    }
    let Some(resolver) = &state.handles else {
        return Err(not_found());
    };
    let Some(did) = resolve_handle(&state, resolver, &parsed).await? else {
        return Err(not_found());
    };
    entity_view(&state, &did)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// The DID `handle` resolves to over the network, from the cache (class
/// `did`, 7 days) or else the resolver. An unresolved handle is a failed
/// computation, so it is not cached for 7 days.
async fn resolve_handle(
    state: &AppState,
    resolver: &Arc<HandleResolver>,
    handle: &Handle,
) -> Result<Option<Did>, ApiError> {
    let key = handle.normalized().to_string();
    let resolver = Arc::clone(resolver);
    let owned = handle.clone();
    let compute = move || async move {
        match resolver.resolve(&owned).await {
            Some(did) => Ok(did.into_string()),
            None => Err(format!("{owned} does not resolve")),
        }
    };
    match state
        .cache
        .get_or_compute(DID_RESOLUTION, &key, &[key.as_str()], compute)
        .await
    {
        Ok(did) => Ok(did.parse().ok()),
        Err(rhiz_cache::CacheError::Compute(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

async fn update_entity(
    State(state): State<AppState>,
    Path(did): Path<String>,
    JsonBody(body): JsonBody<PatchEntityBody>,
) -> Result<Json<EntityObject>, ApiError> {
    let did = parse_path_did(&did)?;
    let patch = body.validate()?;
    match state.store.update_entity(&did, &patch, Utc::now()).await {
        Ok(entity) => {
            answer_cache::invalidate_entity(&state.cache, &did, entity.handle.as_ref()).await;
            Ok(Json(entity.into()))
        }
        Err(StoreError::NotFound { .. }) => {
            Err(ApiError::not_found(format!("entity {did} not found")))
        }
        Err(StoreError::Conflict {
            field: "handle", ..
        }) => Err(handle_taken(patch.handle.as_ref().and_then(Option::as_ref))),
        Err(error) => Err(error.into()),
    }
}

async fn delete_entity(
    State(state): State<AppState>,
    Path(did): Path<String>,
) -> Result<StatusCode, ApiError> {
    let did = parse_path_did(&did)?;
    match state.store.delete_entity(&did).await {
        Ok(()) => {
            answer_cache::invalidate_entity(&state.cache, &did, None).await;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound { .. }) => {
            Err(ApiError::not_found(format!("entity {did} not found")))
        }
        Err(error) => Err(error.into()),
    }
}

/// A DID in the path of a write: invalid syntax is a 422 (§1.2).
fn parse_path_did(did: &str) -> Result<Did, ApiError> {
    let mut checks = Checks::new(Origin::Path);
    let parsed = checks.parse::<Did>("did", did);
    checks.finish(|| parsed)
}

fn handle_taken(handle: Option<&Handle>) -> ApiError {
    match handle {
        Some(handle) => ApiError::conflict(format!("handle {handle} is already taken")),
        None => ApiError::conflict("handle is already taken"),
    }
}
