//! The test kit: a CA database filled the way the CA fills it (issuers,
//! certificates through the issuance journal, status changes, a delegated
//! OCSP signer whose key is in a test token, CRLs), a responder started
//! on 127.0.0.1:0 against it, and clients: OpenSSL, curl and raw HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use sha1::Digest as _;
use signet_core::crl::{CrlEntries, CrlScope, CrlSpec, crl_tbs};
use signet_core::issuance::assemble_signed;
use signet_core::names::parse_name;
use signet_core::ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};
use signet_core::profile::builtin_profile_toml;
use signet_core::public_key::SubjectKey;
use signet_core::{
    CertificateRequest, Clock, Issuer, IssuerUrls, KeyType, Profile, RevocationReason, Serial,
    Signer, SoftwareSigner, SystemClock, Timestamp, prepare, prepare_self_signed,
};
use signet_ocsp::{OcspConfig, RunningOcsp};
use signet_store::testing::TestDatabase;
use signet_store::{
    Backend, CaStore, CrlKind, CrlRecord, IssuanceJournal, NewPending, Schema, StatusChange,
    StatusOutcome,
};
use signet_token::{Token, TokenConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use x509_cert::Certificate;

pub const ROOT_ID: i64 = 1;
pub const ISSUING_ID: i64 = 2;

pub fn now() -> Timestamp {
    SystemClock.now()
}

fn profile(name: &str) -> Profile {
    Profile::from_toml(builtin_profile_toml(name).unwrap()).unwrap()
}

fn key_of(signer: &dyn Signer) -> SubjectKey {
    SubjectKey::from_spki(der::referenced::OwnedToRef::owned_to_ref(
        signer.public_key(),
    ))
    .unwrap()
}

fn urls() -> IssuerUrls {
    IssuerUrls {
        ocsp: Some("http://127.0.0.1:1/ocsp".into()),
        ca_issuers: Some("http://127.0.0.1:1/ca/issuing.der".into()),
        crl: Some("http://127.0.0.1:1/crl/issuing.crl".into()),
        delta_crl: None,
        crl_shards: 0,
    }
}

/// A certificate issued by the fixture's issuing CA.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub serial: Serial,
    pub pem: PathBuf,
}

/// A CA database with a root, an issuing CA and its OCSP signer.
pub struct Fixture {
    pub dir: PathBuf,
    pub db: Option<TestDatabase>,
    pub store: CaStore,
    journal: IssuanceJournal,
    pub token: Token,
    pub token_config: TokenConfig,
    pub root: Issuer,
    pub issuing: Issuer,
    issuing_signer: SoftwareSigner,
    /// Responder certificates recorded, oldest first.
    pub signer_certs: Vec<Vec<u8>>,
    /// Their keys' token labels.
    pub signer_labels: Vec<String>,
}

impl Fixture {
    /// A P-256 PKI.
    pub async fn new(backend: Backend) -> Fixture {
        Self::with_key_type(backend, KeyType::P256).await
    }

    /// CA and OCSP signer keys of `key_type` (an SM2 signer key is kept
    /// wrapped under a token AES key and unwrapped by the responder).
    pub async fn with_key_type(backend: Backend, key_type: KeyType) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "signet-ocsp-it-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = TestDatabase::create(backend).await.unwrap();
        let store = CaStore::new(db.open(Schema::Ca).await.unwrap());
        let journal = IssuanceJournal::start(&store, 16);
        let (token, token_config) = signet_token::testing::test_token("ocsp-it");
        let now = now();
        let mut rng = rand::rng();

        let root_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
        let root_key = key_of(&root_signer);
        let root_der = prepare_self_signed(
            &profile("root-ca"),
            &parse_name("CN=OCSP IT Root,O=Signet Test").unwrap(),
            &root_key,
            root_signer.algorithm(),
            Serial::random(&mut rng),
            now,
        )
        .unwrap()
        .sign(&root_signer, &root_key)
        .unwrap()
        .der;
        let root = Issuer::from_der(&root_der, urls()).unwrap();

        let issuing_signer = SoftwareSigner::generate(key_type, &mut rng).unwrap();
        let request = CertificateRequest {
            subject: parse_name("CN=OCSP IT Issuing CA,O=Signet Test").unwrap(),
            sans: vec![],
            key: key_of(&issuing_signer),
            validity: None,
        };
        let issuing_der = prepare(
            &profile("sub-ca"),
            &root,
            root_signer.algorithm(),
            &request,
            Serial::random(&mut rng),
            now,
        )
        .unwrap()
        .sign(&root_signer, root.key())
        .unwrap()
        .der;
        let issuing = Issuer::from_der(&issuing_der, urls()).unwrap();

        store
            .put_issuer(ROOT_ID, "root", "root-ca", &root_der, now)
            .await
            .unwrap();
        store
            .put_issuer(ISSUING_ID, "issuing", "issuing-ca", &issuing_der, now)
            .await
            .unwrap();
        write_pem(&dir.join("root.pem"), &root_der);
        write_pem(&dir.join("issuing.pem"), &issuing_der);

        let mut fixture = Fixture {
            dir,
            db: Some(db),
            store,
            journal,
            token,
            token_config,
            root,
            issuing,
            issuing_signer,
            signer_certs: Vec::new(),
            signer_labels: Vec::new(),
        };
        fixture.add_ocsp_signer(now).await;
        fixture
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new delegated OCSP signer for the issuing CA: a key generated in
    /// the token, a certificate under profile `ocsp-signer` valid from
    /// `not_before`, recorded in `ocsp_signers`.
    pub async fn add_ocsp_signer(&mut self, not_before: Timestamp) -> Vec<u8> {
        let label = format!("ocsp-issuing-{:08x}", rand::random::<u32>());
        let key_type = self.issuing.key().key_type();
        let spki = self.token.generate_key(&label, key_type).unwrap();
        let request = CertificateRequest {
            subject: parse_name("CN=OCSP IT Issuing CA OCSP Responder").unwrap(),
            sans: vec![],
            key: SubjectKey::from_spki_der(&spki).unwrap(),
            validity: None,
        };
        let issued = prepare(
            &profile("ocsp-signer"),
            &self.issuing,
            self.issuing_signer.algorithm(),
            &request,
            Serial::random(&mut rand::rng()),
            not_before,
        )
        .unwrap()
        .sign(&self.issuing_signer, self.issuing.key())
        .unwrap();
        self.store
            .put_ocsp_signer(
                ISSUING_ID,
                &label,
                &issued.der,
                issued.not_before,
                issued.not_after,
                now(),
            )
            .await
            .unwrap();
        self.signer_certs.push(issued.der.clone());
        self.signer_labels.push(label);
        issued.der
    }

    fn prepare_leaf(&self, name: &str) -> signet_core::IssuanceToken {
        let key = SoftwareSigner::generate(KeyType::P256, &mut rand::rng()).unwrap();
        let request = CertificateRequest {
            subject: parse_name(&format!("CN={name},O=Signet Test")).unwrap(),
            sans: vec![],
            key: key_of(&key),
            validity: None,
        };
        prepare(
            &profile("client"),
            &self.issuing,
            self.issuing_signer.algorithm(),
            &request,
            Serial::random(&mut rand::rng()),
            now(),
        )
        .unwrap()
    }

    async fn record_pending(&self, token: &signet_core::IssuanceToken) {
        let outcome = self
            .journal
            .record_pending(NewPending {
                issuer_id: ISSUING_ID,
                serial: token.serial().clone(),
                request_id: format!("it-{}", token.serial()),
                request_hash: vec![0; 32],
                profile: token.profile().to_owned(),
                subject: token.subject().to_owned(),
                sans: token.sans().to_vec(),
                not_before: token.not_before(),
                not_after: token.not_after(),
                crl_shard: 0,
                tbs: token.tbs_der().to_vec(),
                now: now(),
            })
            .await
            .unwrap();
        assert_eq!(outcome, signet_store::PendingOutcome::Recorded);
    }

    /// Issues a client certificate the way the CA does: pending row with
    /// the TBS, signature, stored certificate. Writes `<name>.pem`.
    pub async fn issue(&self, name: &str) -> Leaf {
        let token = self.prepare_leaf(name);
        self.record_pending(&token).await;
        let issued = token
            .sign(&self.issuing_signer, self.issuing.key())
            .unwrap();
        self.journal
            .record_issued(ISSUING_ID, issued.serial.clone(), issued.der.clone(), now())
            .await
            .unwrap();
        let pem = self.path(&format!("{name}.pem"));
        write_pem(&pem, &issued.der);
        Leaf {
            serial: issued.serial,
            pem,
        }
    }

    /// A serial reserved (pending row) but never signed.
    pub async fn reserve(&self, name: &str) -> Serial {
        let token = self.prepare_leaf(name);
        self.record_pending(&token).await;
        token.serial().clone()
    }

    pub async fn change(&self, serial: &Serial, change: StatusChange) {
        let outcome = self
            .store
            .change_status(ISSUING_ID, serial, change, now())
            .await
            .unwrap();
        assert!(matches!(outcome, StatusOutcome::Changed(_)), "{outcome:?}");
    }

    pub async fn revoke(&self, serial: &Serial, reason: RevocationReason) {
        self.change(
            serial,
            StatusChange::Revoke {
                reason,
                invalidity_date: None,
            },
        )
        .await;
    }

    /// Signs and stores a CRL of the issuing CA listing `revoked`.
    pub async fn publish_crl(
        &self,
        shard: i64,
        kind: CrlKind,
        number: i64,
        revoked: &[&Serial],
    ) -> CrlRecord {
        let this_update = now();
        let next_update = Timestamp::from_unix(this_update.unix() + 86_400);
        let mut entries = CrlEntries::new();
        for serial in revoked {
            entries
                .push(
                    serial,
                    this_update,
                    Some(RevocationReason::KeyCompromise),
                    None,
                )
                .unwrap();
        }
        let spec = CrlSpec {
            signing: self.issuing_signer.algorithm(),
            this_update,
            next_update,
            number: u64::try_from(number).unwrap(),
            delta_base: (kind == CrlKind::Delta).then_some(1),
            url: None,
            delta_url: None,
            scope: CrlScope::UserCerts,
        };
        let tbs = crl_tbs(&self.issuing, &spec, entries).unwrap();
        let signature = self.issuing_signer.sign(&tbs).unwrap();
        let der = assemble_signed(&tbs, spec.signing, &signature).unwrap();
        let record = CrlRecord {
            issuer_id: ISSUING_ID,
            shard,
            kind,
            number,
            base_number: spec.delta_base.map(|b| i64::try_from(b).unwrap()),
            this_update,
            next_update,
            changes_seq: 0,
            entries: i64::try_from(revoked.len()).unwrap(),
            der,
        };
        self.store.put_crl(&record).await.unwrap();
        record
    }

    pub fn db_url(&self) -> String {
        self.db.as_ref().unwrap().url.clone()
    }

    /// A responder configuration for this fixture: quick polls, short
    /// client deadlines.
    pub fn config(&self) -> OcspConfig {
        let text = format!(
            r#"
[server]
listen = "127.0.0.1:0"
request_timeout = "1s"
header_timeout = "1s"

[database]
url = "{url}"
max_connections = 4

[token]
token_label = "replaced below"
pin = {{ file = "/nonexistent" }}

[responses]
poll_interval = "100ms"
signer_refresh = "1s"
"#,
            url = self.db_url()
        );
        let mut config = OcspConfig::from_toml(&text).unwrap();
        config.token = self.token_config.clone();
        config
    }

    pub async fn start(&self) -> RunningOcsp {
        self.start_with(self.config()).await
    }

    pub async fn start_with(&self, config: OcspConfig) -> RunningOcsp {
        signet_ocsp::start(config, Arc::new(SystemClock))
            .await
            .unwrap()
    }

    /// A SHA-1 CertID for `serial` under the issuing CA.
    pub fn cert_id(&self, serial: &Serial) -> CertId {
        cert_id_for(self.issuing.der(), serial)
    }

    /// Drops the database and the scratch directory.
    pub async fn close(mut self) {
        if let Some(db) = self.db.take() {
            self.store.database().close().await;
            db.drop_database().await.ok();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

pub fn write_pem(path: &Path, der: &[u8]) {
    std::fs::write(path, signet_core::pem::certificate_pem(der)).unwrap();
}

/// A SHA-1 CertID (as most clients send) for `serial` under `issuer_der`.
pub fn cert_id_for(issuer_der: &[u8], serial: &Serial) -> CertId {
    let issuer = Certificate::from_der(issuer_der).unwrap();
    let tbs = issuer.tbs_certificate();
    CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: signet_core::algorithm::oid::SHA1,
            parameters: Some(der::Any::from(Null)),
        },
        issuer_name_hash: OctetString::new(
            sha1::Sha1::digest(tbs.subject().to_der().unwrap()).to_vec(),
        )
        .unwrap(),
        issuer_key_hash: OctetString::new(
            sha1::Sha1::digest(tbs.subject_public_key_info().subject_public_key.raw_bytes())
                .to_vec(),
        )
        .unwrap(),
        serial_number: serial.to_serial_number().unwrap(),
    }
}

/// The DER of an OCSPRequest for `ids`, with an optional nonce.
pub fn request(ids: &[CertId], nonce: Option<&[u8]>) -> Vec<u8> {
    let extensions = nonce.map(|n| {
        vec![x509_cert::ext::Extension {
            extn_id: signet_core::ocsp::ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(n.to_vec()).unwrap().to_der().unwrap())
                .unwrap(),
        }]
    });
    OcspRequest {
        tbs_request: TbsRequest {
            version: 0,
            requestor_name: None,
            request_list: ids
                .iter()
                .map(|id| Request {
                    req_cert: id.clone(),
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

/// What a response says, decoded.
#[derive(Debug)]
pub struct Decoded {
    pub status: OcspResponseStatus,
    pub basic: Option<BasicOcspResponse>,
}

impl Decoded {
    pub fn cert_statuses(&self) -> Vec<CertStatus> {
        self.basic
            .as_ref()
            .map(|b| {
                b.tbs_response_data
                    .responses
                    .iter()
                    .map(|r| r.cert_status.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// "good", "revoked" or "unknown" for a single-certificate response.
    pub fn single(&self) -> &'static str {
        match self.cert_statuses().as_slice() {
            [CertStatus::Good(_)] => "good",
            [CertStatus::Revoked(_)] => "revoked",
            [CertStatus::Unknown(_)] => "unknown",
            other => panic!("not one status: {other:?} ({:?})", self.status),
        }
    }

    pub fn responder_key_hash(&self) -> Vec<u8> {
        match &self.basic.as_ref().unwrap().tbs_response_data.responder_id {
            ResponderId::ByKey(hash) => hash.as_bytes().to_vec(),
            ResponderId::ByName(_) => panic!("responder by name"),
        }
    }
}

pub fn decode(der: &[u8]) -> Decoded {
    let response = OcspResponse::from_der(der)
        .unwrap_or_else(|e| panic!("not an OCSPResponse ({e}): {der:02x?}"));
    let basic = response
        .response_bytes
        .map(|b| BasicOcspResponse::from_der(b.response.as_bytes()).unwrap());
    Decoded {
        status: response.response_status,
        basic,
    }
}

/// SHA-1 of a certificate's public key: the responder's byKey id.
pub fn key_hash(cert_der: &[u8]) -> Vec<u8> {
    let cert = Certificate::from_der(cert_der).unwrap();
    sha1::Sha1::digest(
        cert.tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
    .to_vec()
}

// ---------------------------------------------------------------------------
// Raw HTTP

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `raw` (a complete HTTP/1.1 request with `Connection: close`)
/// and reads the whole answer. Writing and reading go on at once: the
/// server may answer (and close) before a large body is sent.
pub async fn http_raw(addr: SocketAddr, raw: &[u8]) -> HttpResponse {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let raw = raw.to_vec();
    let writer = tokio::spawn(async move {
        // A refused body ends in a broken pipe: expected.
        let _ = write.write_all(&raw).await;
        write
    });
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut bytes))
        .await
        .expect("answer within 10 s")
        .ok();
    drop(writer.await);
    parse_http(&bytes)
}

pub fn parse_http(bytes: &[u8]) -> HttpResponse {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

pub async fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    http_raw(addr, &raw).await
}

pub async fn post_ocsp(addr: SocketAddr, body: &[u8]) -> HttpResponse {
    post(addr, "/ocsp", "application/ocsp-request", body).await
}

pub async fn get(addr: SocketAddr, path: &str, extra_headers: &str) -> HttpResponse {
    let raw =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n");
    http_raw(addr, raw.as_bytes()).await
}

pub async fn method(addr: SocketAddr, method: &str, path: &str) -> HttpResponse {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    http_raw(addr, raw.as_bytes()).await
}

/// The value of a metric line of `/metrics` starting with `line_prefix`,
/// e.g. `signet_ocsp_cache_hits_total`; 0 when absent.
pub async fn metric(addr: SocketAddr, line_prefix: &str) -> f64 {
    let response = get(addr, "/metrics", "").await;
    let text = String::from_utf8(response.body).unwrap();
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

// ---------------------------------------------------------------------------
// OpenSSL and curl

/// Runs a program; returns (success, stdout + stderr).
pub async fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out: Output = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `openssl ocsp` asking the responder at `addr` about `leaf` (POST: OpenSSL
/// 3.0 cannot send GET), verifying against the root. Returns its output.
pub async fn openssl_ask(fx: &Fixture, addr: SocketAddr, leaf: &Path, nonce: bool) -> String {
    let url = format!("http://{addr}/ocsp");
    let (root, issuing) = (fx.path("root.pem"), fx.path("issuing.pem"));
    let mut args = vec![
        "ocsp",
        "-issuer",
        p(&issuing),
        "-cert",
        p(leaf),
        "-url",
        &url,
        "-CAfile",
        p(&root),
        "-resp_text",
        "-timeout",
        "10",
    ];
    if !nonce {
        args.push("-no_nonce");
    }
    let (ok, out) = run("openssl", &args).await;
    assert!(ok, "openssl ocsp failed: {out}");
    assert!(out.contains("Response verify OK"), "{out}");
    out
}

/// A single-certificate request without nonce, POSTed; the decoded answer.
pub async fn ask(addr: SocketAddr, id: &CertId) -> (HttpResponse, Decoded) {
    let response = post_ocsp(addr, &request(std::slice::from_ref(id), None)).await;
    assert_eq!(response.status, 200, "{response:?}");
    let decoded = decode(&response.body);
    (response, decoded)
}
