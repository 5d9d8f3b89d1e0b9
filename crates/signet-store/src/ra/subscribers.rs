//! Subscribers: the people, servers and devices certificates are issued to.
//! The ID number and phone are stored only encrypted (`*_enc`) with a
//! keyed digest (`*_digest`) for exact-match search; this module never sees
//! them in plain text.

use std::fmt;

use signet_core::Timestamp;

use super::{RaStore, RaTx, ScopePrefix, on_tx};
use crate::database::on_reader;
use crate::error::{Context, StoreError};

/// One subscriber.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriberRecord {
    /// Database id.
    pub id: i64,
    /// Random public id, bound into the encrypted fields' AAD.
    pub uid: String,
    /// `person`, `server` or `device`.
    pub kind: String,
    /// Name.
    pub display_name: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Contact address.
    pub email: Option<String>,
    /// ID number, encrypted.
    pub id_number_enc: Option<Vec<u8>>,
    /// Keyed digest of the ID number.
    pub id_number_digest: Option<Vec<u8>>,
    /// Phone number, encrypted.
    pub phone_enc: Option<Vec<u8>>,
    /// Keyed digest of the phone number.
    pub phone_digest: Option<Vec<u8>>,
    /// The officer who registered the subscriber.
    pub created_by: i64,
    /// Registered.
    pub created_at: Timestamp,
}

impl fmt::Debug for SubscriberRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberRecord")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("kind", &self.kind)
            .field("org_unit_id", &self.org_unit_id)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: i64,
    uid: String,
    kind: String,
    display_name: String,
    org_unit_id: i64,
    email: Option<String>,
    id_number_enc: Option<Vec<u8>>,
    id_number_digest: Option<Vec<u8>>,
    phone_enc: Option<Vec<u8>>,
    phone_digest: Option<Vec<u8>>,
    created_by: i64,
    created_at: i64,
}

impl From<SubscriberRow> for SubscriberRecord {
    fn from(r: SubscriberRow) -> Self {
        SubscriberRecord {
            id: r.id,
            uid: r.uid,
            kind: r.kind,
            display_name: r.display_name,
            org_unit_id: r.org_unit_id,
            email: r.email,
            id_number_enc: r.id_number_enc,
            id_number_digest: r.id_number_digest,
            phone_enc: r.phone_enc,
            phone_digest: r.phone_digest,
            created_by: r.created_by,
            created_at: Timestamp::from_unix(r.created_at),
        }
    }
}

macro_rules! select_subscribers {
    ($rest:literal) => {
        concat!(
            "SELECT id, uid, kind, display_name, org_unit_id, email, id_number_enc, \
             id_number_digest, phone_enc, phone_digest, created_by, created_at FROM subscribers ",
            $rest
        )
    };
}

/// A subscriber to register; sensitive fields already encrypted.
#[derive(Clone)]
pub struct NewSubscriber {
    /// Random public id (the AAD of the encrypted fields names it).
    pub uid: String,
    /// `person`, `server` or `device`.
    pub kind: String,
    /// Name.
    pub display_name: String,
    /// Unit.
    pub org_unit_id: i64,
    /// Contact address.
    pub email: Option<String>,
    /// `(ciphertext, digest)` of the ID number.
    pub id_number: Option<(Vec<u8>, Vec<u8>)>,
    /// `(ciphertext, digest)` of the phone number.
    pub phone: Option<(Vec<u8>, Vec<u8>)>,
    /// The registering officer.
    pub created_by: i64,
    /// Now.
    pub now: Timestamp,
}

impl fmt::Debug for NewSubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSubscriber")
            .field("uid", &self.uid)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl RaStore {
    /// One subscriber, if it is in `scope`.
    pub async fn subscriber(
        &self,
        id: i64,
        scope: &ScopePrefix,
    ) -> Result<Option<SubscriberRecord>, StoreError> {
        let row: Option<SubscriberRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_subscribers!(
                "WHERE id = $1 AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $2)"
            ))
            .bind(id)
            .bind(scope.pattern())
            .fetch_optional(pool)
            .await
            .during("read subscriber")?
        });
        Ok(row.map(SubscriberRecord::from))
    }

    /// Subscribers in `scope`, newest first; with `id_number_digest` or
    /// `phone_digest`, only exact matches of that field.
    pub async fn subscribers(
        &self,
        scope: &ScopePrefix,
        id_number_digest: Option<&[u8]>,
        phone_digest: Option<&[u8]>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<SubscriberRecord>, StoreError> {
        let rows: Vec<SubscriberRow> = on_reader!(self.db, |pool| {
            sqlx::query_as(select_subscribers!(
                "WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE $1) \
                 AND ($2 IS NULL OR id_number_digest = $2) AND ($3 IS NULL OR phone_digest = $3) \
                 ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
            ))
            .bind(scope.pattern())
            .bind(id_number_digest)
            .bind(phone_digest)
            .bind(i64::from(limit.clamp(1, 1000)))
            .bind(i64::from(offset))
            .fetch_all(pool)
            .await
            .during("list subscribers")?
        });
        Ok(rows.into_iter().map(SubscriberRecord::from).collect())
    }
}

impl RaTx {
    /// Registers a subscriber; returns its id.
    pub async fn create_subscriber(&mut self, new: &NewSubscriber) -> Result<i64, StoreError> {
        let (id_enc, id_digest) = split(&new.id_number);
        let (phone_enc, phone_digest) = split(&new.phone);
        Ok(on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO subscribers (uid, kind, display_name, org_unit_id, email, \
                 id_number_enc, id_number_digest, phone_enc, phone_digest, created_by, \
                 created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            )
            .bind(&new.uid)
            .bind(&new.kind)
            .bind(&new.display_name)
            .bind(new.org_unit_id)
            .bind(new.email.as_deref())
            .bind(id_enc)
            .bind(id_digest)
            .bind(phone_enc)
            .bind(phone_digest)
            .bind(new.created_by)
            .bind(new.now.unix())
            .fetch_one(&mut *conn)
            .await
            .during("insert subscriber")?
        }))
    }
}

fn split(field: &Option<(Vec<u8>, Vec<u8>)>) -> (Option<&[u8]>, Option<&[u8]>) {
    match field {
        Some((enc, digest)) => (Some(enc.as_slice()), Some(digest.as_slice())),
        None => (None, None),
    }
}
