//! Who may do what: only the CA asks for key pairs; only allowed `app`
//! clients use a data key; roles outside the allowlist do not get past the
//! handshake.

use signet_api::kmc::{EncryptRequest, KeyPairRequest};
use signet_core::KeyType;
use signet_store::Backend;

use crate::kit::{Kit, b64e, signing_key};

#[tokio::test]
async fn only_the_ca_may_ask_for_key_pairs() {
    let kit = Kit::new(Backend::Postgres).await;
    let (_, pem) = signing_key(KeyType::P256);
    let request = |id: &str| KeyPairRequest {
        request_id: id.to_owned(),
        key_type: "p256".into(),
        signing_key: pem.clone(),
        subject: "CN=Dave".into(),
        domain: None,
    };
    for client in ["ra", "admin", "payroll-app"] {
        let err = kit
            .client(client)
            .generate_key_pair(&request(client))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("forbidden"), "{client}");
    }
    // A role the KMC does not admit at all is refused in the handshake.
    let err = kit
        .client("ocsp")
        .generate_key_pair(&request("ocsp"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), None, "{err}");
    // Nothing was escrowed for them; the CA's request works.
    let health = kit.client("admin").key_health().await.unwrap();
    assert!(health.escrowed_keys.counts.is_empty());
    kit.client("ca")
        .generate_key_pair(&request("ca"))
        .await
        .unwrap();
    let health = kit.client("admin").key_health().await.unwrap();
    assert_eq!(health.escrowed_keys.counts.get("escrowed"), Some(&1));
    kit.finish().await;
}

#[tokio::test]
async fn only_allowed_clients_use_a_data_key() {
    let kit = Kit::new(Backend::Postgres).await;
    let req = EncryptRequest {
        plaintext: b64e(b"hello"),
        aad: None,
    };
    kit.client("payroll-app")
        .encrypt("payroll", &req)
        .await
        .unwrap();
    let err = kit
        .client("other-app")
        .encrypt("payroll", &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_allowed"));
    // An unknown key is refused the same way: no probing for names.
    let err = kit
        .client("payroll-app")
        .encrypt("no-such-key", &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_allowed"));
    // Other roles never use data keys.
    for client in ["ca", "ra", "admin"] {
        let err = kit
            .client(client)
            .encrypt("payroll", &req)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("forbidden"), "{client}");
    }
    // The administrator grants and withdraws.
    let admin = kit.client("admin");
    let info = admin.grant_data_key("payroll", "other-app").await.unwrap();
    assert_eq!(info.clients, ["other-app", "payroll-app"]);
    kit.client("other-app")
        .encrypt("payroll", &req)
        .await
        .unwrap();
    admin.revoke_data_key("payroll", "other-app").await.unwrap();
    let err = kit
        .client("other-app")
        .encrypt("payroll", &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("not_allowed"));
    // Apps do not administer.
    let err = kit
        .client("payroll-app")
        .grant_data_key("payroll", "other-app")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("forbidden"));
    kit.finish().await;
}
