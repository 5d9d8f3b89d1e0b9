//! Cookies (RFC 6265). Every cookie is `Secure` (the RA speaks only
//! HTTPS), `SameSite=Strict` (never sent on cross-site requests, a first
//! line against CSRF) and, unless a script must read it, `HttpOnly`.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session id (`Path=/`, no expiry: a browser session cookie; the
/// server enforces idle and absolute expiry).
pub const SESSION: &str = "signet_session";
/// The anti-CSRF value of the login form, before any session exists
/// (double-submit: cookie and form field must match).
pub const PRELOGIN: &str = "signet_prelogin";
/// The language chosen with the switch link.
pub const LANG: &str = "lang";

/// The value of cookie `name` in the request's Cookie headers.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

fn build(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    // Names are constants and values base64url or language codes.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// `Set-Cookie` for a new session id.
pub fn session(id: &str) -> HeaderValue {
    build(SESSION, id, None)
}

/// `Set-Cookie` for the login form's anti-CSRF value (ten minutes).
pub fn prelogin(token: &str) -> HeaderValue {
    build(PRELOGIN, token, Some(600))
}

/// `Set-Cookie` for the language (one year).
pub fn lang(code: &str) -> HeaderValue {
    build(LANG, code, Some(365 * 86_400))
}

/// `Set-Cookie` that deletes cookie `name`.
pub fn clear(name: &str) -> HeaderValue {
    build(name, "", Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies_and_builds_secure_ones() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; lang=zh-CN"));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("signet_session=abc"),
        );
        assert_eq!(get(&h, "lang").as_deref(), Some("zh-CN"));
        assert_eq!(get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(get(&h, "b"), None);
        let s = session("xyz");
        let s = s.to_str().unwrap();
        for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(s.contains(flag), "{s}");
        }
        assert!(clear(SESSION).to_str().unwrap().contains("Max-Age=0"));
    }
}
