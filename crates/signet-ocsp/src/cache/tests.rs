use der::asn1::{Null, OctetString};
use signet_core::algorithm::oid;

use super::*;

/// A CertID without a real issuer: the cache compares them, nothing more.
fn cert_id(serial: &Serial, sha256: bool) -> CertId {
    let (alg, len) = if sha256 {
        (oid::SHA256, 32)
    } else {
        (oid::SHA1, 20)
    };
    CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: alg,
            parameters: Some(der::Any::from(Null)),
        },
        issuer_name_hash: OctetString::new(vec![1u8; len]).unwrap(),
        issuer_key_hash: OctetString::new(vec![2u8; len]).unwrap(),
        serial_number: serial.to_serial_number().unwrap(),
    }
}

const T0: Timestamp = Timestamp::from_unix(1_800_000_000);

fn serial(n: u32) -> Serial {
    Serial::from_magnitude(&(n + 1).to_be_bytes()).unwrap()
}

fn response(cert_id: CertId, signer_id: i64, this_update: Timestamp) -> Arc<CachedResponse> {
    Arc::new(CachedResponse {
        cert_id,
        signer_id,
        der: Bytes::from_static(b"response"),
        etag: "\"e\"".into(),
        this_update,
        next_update: Timestamp::from_unix(this_update.unix() + 3600),
        refresh_at: Timestamp::from_unix(this_update.unix() + 1800),
        outcome: Outcome::Good,
    })
}

fn cache(capacity: usize) -> (ResponseCache, Gauge<i64, std::sync::atomic::AtomicI64>) {
    let gauge = Gauge::default();
    (ResponseCache::new(capacity, gauge.clone()), gauge)
}

fn put(cache: &ResponseCache, issuer: i64, s: &Serial, r: Arc<CachedResponse>) -> bool {
    let ticket = cache.ticket(issuer, s).unwrap();
    cache.insert(ticket, issuer, s, r, T0)
}

#[test]
fn a_response_is_served_until_half_its_validity() {
    let (cache, gauge) = cache(100);
    let s = serial(1);
    let id = cert_id(&s, false);
    assert!(put(&cache, 7, &s, response(id.clone(), 1, T0)));
    assert_eq!(gauge.get(), 1);
    assert!(cache.get(7, &s, &id, 1, T0).is_some());
    assert!(
        cache
            .get(7, &s, &id, 1, Timestamp::from_unix(T0.unix() + 1799))
            .is_some()
    );
    assert!(
        cache
            .get(7, &s, &id, 1, Timestamp::from_unix(T0.unix() + 1800))
            .is_none()
    );
    // Another issuer, serial, signer or CertID form is another response.
    assert!(cache.get(8, &s, &id, 1, T0).is_none());
    assert!(cache.get(7, &serial(2), &id, 1, T0).is_none());
    assert!(cache.get(7, &s, &id, 2, T0).is_none());
    assert!(cache.get(7, &s, &cert_id(&s, true), 1, T0).is_none());
}

#[test]
fn each_cert_id_form_has_its_own_response_and_invalidation_drops_them_all() {
    let (cache, gauge) = cache(100);
    let s = serial(3);
    let (sha1, sha256) = (cert_id(&s, false), cert_id(&s, true));
    assert!(put(&cache, 7, &s, response(sha1.clone(), 1, T0)));
    assert!(put(&cache, 7, &s, response(sha256.clone(), 1, T0)));
    // Replacing a form does not add one.
    assert!(put(&cache, 7, &s, response(sha1.clone(), 1, T0)));
    assert_eq!(cache.len(), 2);
    assert_eq!(gauge.get(), 2);
    assert!(cache.get(7, &s, &sha1, 1, T0).is_some());
    assert!(cache.get(7, &s, &sha256, 1, T0).is_some());
    cache.invalidate(7, &s);
    assert!(cache.get(7, &s, &sha1, 1, T0).is_none());
    assert!(cache.get(7, &s, &sha256, 1, T0).is_none());
    assert_eq!(cache.len(), 0);
    assert_eq!(gauge.get(), 0);
}

#[test]
fn a_response_read_before_an_invalidation_is_not_stored() {
    let (cache, _) = cache(100);
    let s = serial(4);
    let id = cert_id(&s, false);
    // Request: takes its ticket, then reads "good" from the database...
    let ticket = cache.ticket(7, &s).unwrap();
    // ...while the feed reports a revocation of the same certificate...
    cache.invalidate(7, &s);
    // ...so the response signed from the old status must not be kept.
    assert!(!cache.insert(ticket, 7, &s, response(id.clone(), 1, T0), T0));
    assert!(cache.get(7, &s, &id, 1, T0).is_none());
    // A ticket taken after the invalidation stores.
    assert!(put(&cache, 7, &s, response(id.clone(), 1, T0)));
    assert!(cache.get(7, &s, &id, 1, T0).is_some());
    // clear() refuses earlier tickets too.
    let ticket = cache.ticket(7, &s).unwrap();
    cache.clear();
    assert!(!cache.insert(ticket, 7, &s, response(id, 1, T0), T0));
}

#[test]
fn the_cache_stays_near_its_capacity() {
    for capacity in [640, 100_000] {
        let (cache, gauge) = cache(capacity);
        for n in 0..u32::try_from(capacity * 3).unwrap() {
            let s = serial(n);
            put(&cache, 1, &s, response(cert_id(&s, false), 1, T0));
        }
        let len = cache.len();
        assert!(len <= capacity, "{capacity}: {len}");
        assert!(len >= capacity / 2, "{capacity}: {len}");
        assert_eq!(gauge.get(), i64::try_from(len).unwrap());
    }
}

#[test]
fn stale_responses_are_evicted_first() {
    let (cache, _) = cache(64);
    let old = Timestamp::from_unix(T0.unix() - 7200);
    // Fill with stale responses, then add fresh ones: the fresh ones stay.
    for n in 0..64 {
        let s = serial(n);
        put(&cache, 1, &s, response(cert_id(&s, false), 1, old));
    }
    let fresh: Vec<Serial> = (100..132).map(serial).collect();
    for s in &fresh {
        put(&cache, 1, s, response(cert_id(s, false), 1, T0));
    }
    let kept = fresh
        .iter()
        .filter(|s| cache.get(1, s, &cert_id(s, false), 1, T0).is_some())
        .count();
    assert!(kept >= 28, "{kept} of 32 fresh responses kept");
}

#[test]
fn a_cache_of_zero_entries_holds_nothing() {
    let (cache, _) = cache(0);
    let s = serial(5);
    assert!(cache.ticket(1, &s).is_none());
    assert!(cache.get(1, &s, &cert_id(&s, false), 1, T0).is_none());
    cache.invalidate(1, &s);
    cache.clear();
    assert_eq!(cache.len(), 0);
}
