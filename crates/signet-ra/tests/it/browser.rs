//! A small browser: HTTPS requests with a cookie jar, no redirects
//! followed (tests look at them), and helpers to read pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use signet_tls::rustls::ClientConfig;
use signet_tls::rustls::sign::SingleCertAndKey;
use signet_tls::{Identity, MtlsConnector};

/// One response.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as received (binary downloads answering a POST).
    pub bytes: Vec<u8>,
}

impl Page {
    /// The value of the first `name="csrf"` hidden field.
    pub fn csrf(&self) -> String {
        self.field_value("csrf")
            .unwrap_or_else(|| panic!("no csrf field in:\n{}", self.body))
    }

    /// The `value` of the first input named `name`.
    pub fn field_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// The text of the element with `id`.
    pub fn element_text(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('<')? + start;
        Some(self.body[start..end].to_owned())
    }

    /// The `<title>`.
    pub fn title(&self) -> String {
        let start = self.body.find("<title>").map(|i| i + 7).unwrap_or(0);
        let end = self.body.find("</title>").unwrap_or(start);
        self.body[start..end].to_owned()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 303 to `location`.
    #[track_caller]
    pub fn assert_redirect(&self, location: &str) {
        assert_eq!(
            (self.status, self.location()),
            (StatusCode::SEE_OTHER, Some(location)),
            "body: {}",
            self.body
        );
    }
}

/// A browser session.
pub struct Browser {
    client: Client<MtlsConnector, Full<Bytes>>,
    base: String,
    pub cookies: BTreeMap<String, String>,
    pub accept_language: Option<String>,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Browser {
    pub fn new(base: &str, roots_pem: &str, identity: Option<&Identity>) -> Self {
        let roots = signet_tls::load_roots_from_pem(roots_pem.as_bytes()).unwrap();
        let builder = ClientConfig::builder_with_provider(signet_tls::crypto_provider())
            .with_protocol_versions(signet_tls::PROTOCOL_VERSIONS)
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match identity {
            Some(id) => builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
                id.certified_key().clone(),
            ))),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Browser {
            client: signet_tls::https_client(Arc::new(config)),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            accept_language: None,
        }
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Page {
        self.request_bytes(method, path, body.map(String::into_bytes), extra)
            .await
    }

    /// Like [`Self::request`] with a binary body (uploaded files).
    pub async fn request_bytes(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(lang) = &self.accept_language {
            builder = builder.header(header::ACCEPT_LANGUAGE, lang);
        }
        let typed = extra
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !typed {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            self.client.request(request),
        )
        .await
        .expect("request timed out")
        .expect("request failed");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let page = Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
        };
        for c in page.set_cookies() {
            let first = c.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if c.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    /// GETs `path` and returns the raw body (binary downloads).
    pub async fn get_bytes(&mut self, path: &str) -> Vec<u8> {
        let mut builder = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base));
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        builder = builder.header(header::COOKIE, cookie);
        let response = self
            .client
            .request(builder.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request(Method::GET, path, None, &[]).await
    }

    /// POSTs an urlencoded form.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.request(Method::POST, path, Some(body), &[]).await
    }

    /// GETs `form_page`, then POSTs `form` to `action` with that page's
    /// anti-CSRF value.
    pub async fn submit(&mut self, form_page: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let page = self.get(form_page).await;
        let csrf = page.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    /// GETs `form_page`, then POSTs `fields` and `files` (field name, file
    /// name, content) to `action` as multipart/form-data (RFC 7578) with
    /// that page's anti-CSRF value first, as a browser sends a form with a
    /// file input.
    pub async fn submit_multipart(
        &mut self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let page = self.get(form_page).await;
        let csrf = page.csrf();
        let boundary = "----signet-test-boundary-7d2f1c";
        let mut body = Vec::new();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        for (name, value) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, content) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.request_bytes(
            Method::POST,
            action,
            Some(body),
            &[("content-type", &content_type)],
        )
        .await
    }
}
