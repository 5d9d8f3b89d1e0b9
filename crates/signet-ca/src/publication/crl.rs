//! Full and delta CRLs (RFC 5280 §5, §5.2.4).

use signet_core::crl::{CrlEntries, CrlScope, CrlSpec, crl_tbs};
use signet_core::{CertificateStatus, RevocationReason};
use signet_store::{CrlKind, CrlRecord, StoreError};

use super::Publisher;
use crate::authority::IssuerKey;
use crate::error::CaError;

fn encoding(e: der::Error) -> CaError {
    CaError::Issue(signet_core::IssueError::Encoding(e))
}

impl Publisher {
    fn scope(issuer: &IssuerKey) -> CrlScope {
        // A root (no chain above it) lists its subordinate CAs and its own
        // OCSP signer: both kinds of certificate.
        if issuer.chain.is_empty() {
            CrlScope::All
        } else {
            CrlScope::UserCerts
        }
    }

    /// Encodes, signs (checked with the issuer's key) and stores a CRL.
    async fn sign_and_store(
        &self,
        issuer: &IssuerKey,
        shard: u16,
        kind: CrlKind,
        spec: &CrlSpec,
        entries: CrlEntries,
        changes_seq: i64,
    ) -> Result<(), CaError> {
        let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let tbs = crl_tbs(&issuer.issuer, spec, entries).map_err(encoding)?;
        let der = self.ca.sign_tbs(issuer, tbs).await?;
        let number = i64::try_from(spec.number).unwrap_or(i64::MAX);
        self.ca
            .store()
            .put_crl(&CrlRecord {
                issuer_id: issuer.id,
                shard: i64::from(shard),
                kind,
                number,
                base_number: spec.delta_base.and_then(|b| i64::try_from(b).ok()),
                this_update: spec.this_update,
                next_update: spec.next_update,
                changes_seq,
                entries: count,
                der,
            })
            .await?;
        Ok(())
    }

    /// A full CRL of every shard of `issuer` (if it publishes CRLs).
    pub(super) async fn publish_full(&self, issuer: &IssuerKey) -> Result<(), CaError> {
        let urls = issuer.issuer.urls();
        if urls.crl.is_none() {
            return Ok(());
        }
        let store = self.ca.store();
        for shard in 0..urls.shards() {
            let now = self.ca.now();
            // Taken first: every change up to here is in the CRL (later ones
            // may be too, which a delta repeating them does no harm).
            let changes_seq = store.reader().last_change_seq().await?;
            let number = store.next_crl_number(issuer.id, i64::from(shard)).await?;
            let mut entries = CrlEntries::new();
            let count = store
                .for_each_revoked(issuer.id, i64::from(shard), now, |e| {
                    let reason = match e.status {
                        CertificateStatus::Suspended => Some(RevocationReason::CertificateHold),
                        _ => e.reason,
                    };
                    entries
                        .push(&e.serial, e.revoked_at, reason, e.invalidity_date)
                        .map_err(|_| StoreError::Corrupt { what: "CRL entry" })
                })
                .await?;
            let spec = CrlSpec {
                signing: issuer.signer.algorithm(),
                this_update: now,
                next_update: now.plus(self.settings.crl_validity),
                number: u64::try_from(number).unwrap_or(0),
                delta_base: None,
                url: urls.crl_for_shard(shard),
                delta_url: urls.delta_crl_for_shard(shard),
                scope: Self::scope(issuer),
            };
            self.sign_and_store(issuer, shard, CrlKind::Full, &spec, entries, changes_seq)
                .await?;
            store
                .prune_crls(
                    issuer.id,
                    i64::from(shard),
                    number - i64::from(self.settings.keep_crls) * 2,
                )
                .await?;
            tracing::info!(issuer = %issuer.name, shard, number, entries = count, "full CRL published");
        }
        Ok(())
    }

    /// A delta CRL of every shard of `issuer`, against its newest full CRL:
    /// what was revoked or put on hold since, and removeFromCRL for what was
    /// taken off hold.
    pub(super) async fn publish_delta(&self, issuer: &IssuerKey) -> Result<(), CaError> {
        let urls = issuer.issuer.urls();
        if urls.crl.is_none() || urls.delta_crl.is_none() {
            return Ok(());
        }
        let store = self.ca.store();
        for shard in 0..urls.shards() {
            let Some(base) = store
                .reader()
                .latest_crl(issuer.id, i64::from(shard), CrlKind::Full)
                .await?
            else {
                continue;
            };
            let now = self.ca.now();
            let changes_seq = store.reader().last_change_seq().await?;
            let changed = store
                .changed_after(issuer.id, i64::from(shard), base.changes_seq)
                .await?;
            // RFC 5280 §5.2.4: complete and delta CRLs share one number sequence.
            let number = store.next_crl_number(issuer.id, i64::from(shard)).await?;
            let mut entries = CrlEntries::new();
            for e in &changed {
                let reason = match e.status {
                    CertificateStatus::Suspended => Some(RevocationReason::CertificateHold),
                    // Taken off hold (or never listed): remove it.
                    CertificateStatus::Good => Some(RevocationReason::RemoveFromCrl),
                    _ => e.reason,
                };
                entries
                    .push(&e.serial, e.revoked_at, reason, e.invalidity_date)
                    .map_err(encoding)?;
            }
            let spec = CrlSpec {
                signing: issuer.signer.algorithm(),
                this_update: now,
                next_update: now.plus(self.settings.delta_validity),
                number: u64::try_from(number).unwrap_or(0),
                delta_base: Some(u64::try_from(base.number).unwrap_or(0)),
                url: urls.delta_crl_for_shard(shard),
                delta_url: None,
                scope: Self::scope(issuer),
            };
            let count = entries.len();
            self.sign_and_store(issuer, shard, CrlKind::Delta, &spec, entries, changes_seq)
                .await?;
            tracing::debug!(issuer = %issuer.name, shard, number, base = base.number, entries = count, "delta CRL published");
        }
        Ok(())
    }
}
