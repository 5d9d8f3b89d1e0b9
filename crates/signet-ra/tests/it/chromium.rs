//! The console in a real browser: Debian's chromium, headless, driven over
//! WebDriver by chromedriver, trusting the RA's root through an NSS
//! database in its own home directory (no certificate error is ignored).
//! Officer A logs in with password and TOTP and files a request, officer B
//! approves it in a second browser, A fetches the certificate and OpenSSL
//! verifies it. A subscriber with no login enrols with a one-time code;
//! an officer delivers a server-generated key as a PKCS#12 that OpenSSL
//! opens with the password read off the page. Screenshots of the pages go
//! to `$SIGNET_SCREENSHOTS`
//! (docs/screenshots holds a set) when that is set.
//!
//! Needs `chromium`, `chromium-driver` and `libnss3-tools`
//! (`scripts/install-deps` installs them).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::ca::TestCa;
use crate::kit::{PASSWORD, Ra};

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    /// HOME of the browser: its NSS database trusts the RA's root.
    home: tempfile::TempDir,
}

impl Driver {
    fn start(trusted_roots_pem: &str) -> Driver {
        let home = tempfile::tempdir().unwrap();
        let nssdb = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&nssdb).unwrap();
        let db = format!("sql:{}", nssdb.display());
        run("certutil", &["-N", "-d", &db, "--empty-password"]);
        for (i, pem) in split_pem(trusted_roots_pem).iter().enumerate() {
            let file = home.path().join(format!("root-{i}.pem"));
            std::fs::write(&file, pem).unwrap();
            run(
                "certutil",
                &[
                    "-A",
                    "-d",
                    &db,
                    "-t",
                    "C,,",
                    "-n",
                    &format!("signet-root-{i}"),
                    "-i",
                    file.to_str().unwrap(),
                ],
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group, so that dropping the driver also ends
        // the browsers it started, even when a test fails half way.
        let child = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .env("HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port, home }
    }

    /// A new headless browser window with its own profile.
    fn session(&self, name: &str) -> Session {
        let profile = self.home.path().join(format!("profile-{name}"));
        let answer = call(
            self.port,
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "acceptInsecureCerts": false,
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--window-size=1280,900",
                        "--lang=en-US",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }}})),
        );
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Session {
            port: self.port,
            id,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
struct Session {
    port: u16,
    id: String,
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let answer = call(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            body,
        );
        if let Some(error) = answer.get("error") {
            panic!("WebDriver {method} {path}: {error}: {}", answer["message"]);
        }
        answer
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until the window's URL satisfies `done` (a click on a submit
    /// button returns before the navigation it starts has finished).
    fn wait_url(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url();
            if done(&url) {
                return url;
            }
            assert!(Instant::now() < deadline, "never {what}: at {url}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn source(&self) -> String {
        self.cmd("GET", "/source", None)["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        let answer = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        answer["value"][ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {answer}"))
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.cmd("GET", &format!("/element/{element}/text"), None)["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sets a form field's value by script: a CSR typed key by key would
    /// take long, and typing is what `type_into` already shows works.
    fn set_value(&self, css: &str, value: &str) {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "document.querySelector(arguments[0]).value = arguments[1];",
                "args": [css, value],
            })),
        );
    }

    /// GETs `path` from the page with the session's cookies; the body.
    fn fetch(&self, path: &str) -> String {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1];\
                           fetch(arguments[0], {credentials: 'same-origin'})\
                             .then(r => r.text()).then(done, e => done('ERROR ' + e));",
                "args": [path],
            })),
        )["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// GETs `path` from the page with the session's cookies; the body's
    /// bytes (through base64, as scripts return strings).
    fn fetch_bytes(&self, path: &str) -> Vec<u8> {
        let b64 = self.cmd(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1];\
                           fetch(arguments[0], {credentials: 'same-origin'})\
                             .then(r => r.arrayBuffer())\
                             .then(b => { const u = new Uint8Array(b); let s = '';\
                                          for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);\
                                          done(btoa(s)); }, e => done(''));",
                "args": [path],
            })),
        )["value"]
            .as_str()
            .unwrap()
            .to_owned();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    /// Sends the form matched by `css` as its button would (its fields,
    /// anti-CSRF value included, URL-encoded, with the session's cookies)
    /// and keeps the answer, as a browser's download would: a download
    /// started by a click is not something WebDriver hands back.
    fn submit_for_download(&self, css: &str) -> Download {
        let answer = self.cmd(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1];\
                           const form = document.querySelector(arguments[0]);\
                           fetch(form.action, {method: 'POST', credentials: 'same-origin',\
                                               body: new URLSearchParams(new FormData(form))})\
                             .then(r => r.arrayBuffer().then(b => {\
                                 const u = new Uint8Array(b); let s = '';\
                                 for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);\
                                 done({status: r.status, type: r.headers.get('content-type') || '',\
                                       disposition: r.headers.get('content-disposition') || '',\
                                       body: btoa(s)}); }),\
                                   e => done({status: 0, type: '', disposition: '', body: btoa('' + e)}));",
                "args": [css],
            })),
        )["value"]
            .clone();
        let field = |name: &str| answer[name].as_str().unwrap_or_default().to_owned();
        Download {
            status: answer["status"].as_u64().unwrap_or_default(),
            content_type: field("type"),
            disposition: field("disposition"),
            bytes: base64::engine::general_purpose::STANDARD
                .decode(field("body"))
                .unwrap(),
        }
    }

    /// Waits until the page's source satisfies `done` (a form's answer
    /// that is a page at the form's own URL shows no change of URL).
    fn wait_source(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let page = self.source();
            if done(&page) {
                return page;
            }
            assert!(Instant::now() < deadline, "never {what}: {page}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a PNG of the window to `$SIGNET_SCREENSHOTS/<name>.png`.
    fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("SIGNET_SCREENSHOTS") else {
            return;
        };
        let png = self.cmd("GET", "/screenshot", None)["value"]
            .as_str()
            .unwrap()
            .to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), bytes).unwrap();
    }

    /// Like `screenshot`, of the whole page, through chromedriver's
    /// DevTools pass-through (WebDriver's own shot is of the window).
    fn screenshot_page(&self, name: &str) {
        let Some(dir) = std::env::var_os("SIGNET_SCREENSHOTS") else {
            return;
        };
        let size = self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "const e = document.documentElement;\
                           return [e.clientWidth, e.scrollHeight];",
                "args": [],
            })),
        )["value"]
            .clone();
        let png = self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Page.captureScreenshot",
                "params": {
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
                },
            })),
        )["value"]["data"]
            .as_str()
            .unwrap()
            .to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), bytes).unwrap();
    }

    fn close(self) {
        let _ = call(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// What a form's download answered.
struct Download {
    status: u64,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

impl Download {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One WebDriver call over a fresh HTTP/1.1 connection. It blocks while
/// the browser talks to the RA, which runs on this test's runtime: the
/// runtime moves this thread's queued tasks elsewhere meanwhile.
fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    tokio::task::block_in_place(|| call_blocking(port, method, path, body))
}

fn call_blocking(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then
    // Content-Length bytes (or chunks up to the last one).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let (head, body_start) = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (
                String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase(),
                at + 4,
            );
        }
    };
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &raw[body_start..];
        let complete = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let rest = String::from_utf8_lossy(&raw[body_start..]).into_owned();
    let json = if chunked { dechunk(&rest) } else { rest };
    let value: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    match value.get("value") {
        Some(v) if v.get("error").is_some() => v.clone(),
        _ => value,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n..];
        body = body.strip_prefix("\r\n").unwrap_or(body);
    }
    out
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (apt-get install libnss3-tools): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn split_pem(text: &str) -> Vec<String> {
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .map(|b| format!("{}\n", b.trim()))
        .collect()
}

fn csr_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Password and TOTP in the login form, as the officer types them.
fn log_in(ra: &Ra, s: &Session, username: &str, totp: &signet_ra::auth::totp::TotpSecret) {
    s.go(&format!("{}/login", ra.base));
    s.screenshot("login");
    s.type_into("#username", username);
    s.type_into("#password", PASSWORD);
    s.click("form[action='/login'] button[type=submit]");
    s.wait_url("at the TOTP step", |u| u.ends_with("/login/totp"));
    s.screenshot("login-totp");
    s.type_into("#code", &ra.fresh_code(totp));
    s.click("form[action='/login/totp'] button[type=submit]");
    let home = format!("{}/", ra.base);
    s.wait_url("logged in", |u| u == home);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_file_approve_and_download_in_chromium() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![signet_ra::RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    let ra_base = ra.base.clone();
    let web_roots = ra.web_roots.clone();
    let driver = Driver::start(&web_roots);
    let alice = driver.session("alice");
    log_in(&ra, &alice, "alice", &a.totp);
    alice.screenshot("home");

    // Alice files a request for a server certificate.
    alice.go(&format!("{ra_base}/requests/new"));
    alice.click("#profile option[value='server']");
    alice.set_value("#csr", &csr_pem("www.example.test"));
    alice.type_into("#comment", "intranet web server");
    alice.screenshot_page("request-new");
    alice.click("form[action='/requests/new'] button[type=submit]");
    let url = alice.wait_url("on the filed request", |u| {
        u.contains("/requests/") && !u.ends_with("/requests/new")
    });
    let uid = url
        .rsplit_once("/requests/")
        .map(|(_, uid)| uid.to_owned())
        .unwrap_or_else(|| panic!("not on a request page: {url}"));
    assert!(
        !alice.source().contains(&format!("/requests/{uid}/approve")),
        "the filer is offered no approval"
    );

    // Bob approves it in his own browser.
    let bob = driver.session("bob");
    log_in(&ra, &bob, "bob", &b.totp);
    bob.go(&format!("{ra_base}/requests/{uid}"));
    bob.screenshot("request-pending");
    bob.type_into(
        &format!("form[action='/requests/{uid}/approve'] input[name=comment]"),
        "vetted",
    );
    bob.click(&format!(
        "form[action='/requests/{uid}/approve'] button[type=submit]"
    ));
    // The answer is the same URL: wait for the page showing the serial
    // (the approval was the last one, so the RA asked the CA).
    bob.wait_source("the request issued", |p| p.contains("id=\"serial\""));

    // Alice sees it issued and takes the certificate with its chain.
    alice.go(&format!("{ra_base}/requests/{uid}"));
    let serial = alice.text("#serial");
    assert!(!serial.trim().is_empty(), "{}", alice.source());
    alice.screenshot("request-issued");
    // The same page in Simplified Chinese, by the language switch.
    alice.click("a[hreflang='zh-CN']");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !alice.source().contains("<html lang=\"zh-CN\"") {
        assert!(Instant::now() < deadline, "{}", alice.source());
        std::thread::sleep(Duration::from_millis(50));
    }
    alice.screenshot("request-issued-zh-CN");
    alice.go(&format!("{ra_base}/requests/{uid}"));
    let chain = alice.fetch(&format!("/requests/{uid}/chain.pem"));
    assert!(chain.contains("BEGIN CERTIFICATE"), "{chain}");
    alice.close();
    bob.close();

    let dir = tempfile::tempdir().unwrap();
    let chain_file = dir.path().join("chain.pem");
    std::fs::write(&chain_file, &chain).unwrap();
    verify(&ca.root_pem, &chain_file);
    drop(driver);
    ra.stop().await;
}

/// A 1,000-row batch file goes in through the form, another officer
/// approves it, the progress bar advances to done while the page
/// refreshes itself, and the result ZIP holds 1,000 certificates that
/// OpenSSL verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_row_batch_runs_to_done_in_chromium() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![signet_ra::RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let b = ra.officer(&mut admin.browser, "bob", "officer", root).await;
    let file = (1..=1000)
        .map(|i| crate::batches::line(&format!("d{i}.bulk.test")))
        .collect::<Vec<_>>()
        .join("\n");

    let ra_base = ra.base.clone();
    let driver = Driver::start(&ra.web_roots);
    let alice = driver.session("alice");
    log_in(&ra, &alice, "alice", &a.totp);
    alice.go(&format!("{ra_base}/batches"));
    alice.set_value("#file", &file);
    alice.screenshot("batch-new");
    alice.click("form[action='/batches'] button[type=submit]");
    let batch = alice.wait_url("on the batch", |u| {
        u.contains("/batches/") && !u.ends_with("/batches")
    });
    let path = batch.trim_start_matches(&ra_base).to_owned();

    let bob = driver.session("bob");
    log_in(&ra, &bob, "bob", &b.totp);
    bob.go(&batch);
    let approve = format!("action=\"{path}/approve\"");
    bob.click(&format!(
        "form[action='{path}/approve'] button[type=submit]"
    ));
    // The answer is the batch page again, without the approval form.
    let deadline = Instant::now() + Duration::from_secs(15);
    while bob.source().contains(&approve) {
        assert!(Instant::now() < deadline, "approval not taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    bob.close();

    // The page refreshes itself while the job runs; read its progress bar.
    alice.go(&batch);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // One read of the whole document: the page reloads itself, so an
        // element found a moment ago may be gone by the next call.
        let page = alice.source();
        let issued: u32 = text_of(&page, "batch-issued").parse().unwrap_or(0);
        let status = text_of(&page, "batch-status");
        if seen.last() != Some(&issued) {
            seen.push(issued);
            // The CA may issue all rows between two reloads: then the
            // running page shows none issued yet.
            if status.trim() == "running" && issued < 1000 {
                alice.screenshot("batch-running");
            }
        }
        if status.trim() == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "stuck at {status}: {seen:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    alice.screenshot("batch-done");
    assert_eq!(seen.last(), Some(&1000), "progress: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    let zip = alice.fetch_bytes(&format!("{path}/result.zip"));
    alice.close();
    drop(driver);

    let (_dir, certs) = crate::batches::verified_certificates(&zip, &ca.root_pem);
    assert_eq!(certs.len(), 1000);
    ra.stop().await;
}

/// Officer A makes a one-time enrolment code for a vetted subject; a
/// subscriber with no login and no certificate types it into the portal
/// with a CSR, officer B approves the request it filed, and the
/// subscriber, back with the same code, sees it issued and downloads the
/// certificate once; OpenSSL verifies it and finds the vetted identity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_enrols_with_a_one_time_code_in_chromium() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![signet_ra::RaProfileConfig {
            name: "client".into(),
            approvals: 1,
        }];
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    let ra_base = ra.base.clone();
    let driver = Driver::start(&ra.web_roots);
    let alice = driver.session("alice");
    log_in(&ra, &alice, "alice", &a.totp);

    // Alice makes a code for a subject she vetted; it is shown once.
    alice.go(&format!("{ra_base}/enrolment-codes"));
    alice.click("form[action='/enrolment-codes'] #profile option[value='client']");
    alice.type_into(
        "form[action='/enrolment-codes'] #subject",
        "CN=zhang.example.test,O=Example",
    );
    alice.type_into(
        "form[action='/enrolment-codes'] #sans",
        "DNS:zhang.example.test",
    );
    alice.click("form[action='/enrolment-codes'] button[type=submit]");
    alice.wait_source("shown the code", |p| p.contains("id=\"enrolment-code\""));
    let code = alice.text("#enrolment-code");
    assert_eq!(code.len(), 23, "four groups of five: {code}");
    alice.screenshot("enrolment-code-created");
    alice.go(&format!("{ra_base}/enrolment-codes"));
    assert!(
        !alice.source().contains(&code),
        "the list never shows a code"
    );

    // The subscriber: no login, no certificate, just the code and a CSR.
    let subscriber = driver.session("subscriber");
    subscriber.go(&format!("{ra_base}/portal/enroll"));
    subscriber.type_into("#code", &code);
    subscriber.set_value("#csr", &csr_pem("whatever-the-csr-says.example.test"));
    subscriber.screenshot_page("portal-enroll");
    subscriber.click("form[action='/portal/enroll'] button[type=submit]");
    subscriber.wait_source("filed", |p| p.contains("data-status=\"pending\""));
    assert!(
        !subscriber.source().contains("/portal/enroll/certificate"),
        "nothing to download yet"
    );

    // Bob finds the request through the code's row and approves it;
    // Alice, who made the code, filed it and is offered no approval.
    let bob = driver.session("bob");
    log_in(&ra, &bob, "bob", &b.totp);
    bob.go(&format!("{ra_base}/enrolment-codes"));
    bob.click("tr.enrolment-code a[href^='/requests/']");
    let url = bob.wait_url("on the code's request", |u| u.contains("/requests/"));
    let uid = url
        .rsplit_once("/requests/")
        .map(|(_, uid)| uid.to_owned())
        .unwrap_or_else(|| panic!("not on a request page: {url}"));
    alice.go(&url);
    assert!(
        !alice.source().contains(&format!("/requests/{uid}/approve")),
        "the code's maker is offered no approval"
    );
    bob.click(&format!(
        "form[action='/requests/{uid}/approve'] button[type=submit]"
    ));
    // The answer is the same URL: wait for the page showing the serial
    // (the approval was the last one, so the RA asked the CA).
    bob.wait_source("the request issued", |p| p.contains("id=\"serial\""));
    bob.close();

    // The subscriber comes back with the code: issued, ready to download.
    subscriber.go(&format!("{ra_base}/portal/enroll"));
    subscriber.type_into("#status-code", &code);
    subscriber.click("form[action='/portal/enroll/status'] button[type=submit]");
    subscriber.wait_source("issued", |p| p.contains("data-status=\"issued\""));
    let serial = subscriber.text("#enrolment-serial");
    assert!(!serial.trim().is_empty());
    subscriber.screenshot("portal-enroll-issued");
    let download = subscriber.submit_for_download("form[action='/portal/enroll/certificate']");
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(download.content_type, "application/x-pem-file");
    assert_eq!(
        download.disposition,
        format!("attachment; filename=\"{serial}-chain.pem\"")
    );
    let chain = download.text();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
    // The download spent the code.
    let again = subscriber.submit_for_download("form[action='/portal/enroll/certificate']");
    assert_eq!(again.status, 403, "{}", again.text());
    subscriber.close();

    // The code's row says the certificate was handed over.
    alice.go(&format!("{ra_base}/enrolment-codes"));
    assert_eq!(
        alice.text("tr.enrolment-code .badge"),
        "Certificate handed over"
    );
    alice.screenshot_page("enrolment-codes");
    alice.close();
    drop(driver);

    let dir = tempfile::tempdir().unwrap();
    let chain_file = dir.path().join("chain.pem");
    std::fs::write(&chain_file, &chain).unwrap();
    verify(&ca.root_pem, &chain_file);
    let text = openssl(&["x509", "-noout", "-text", "-in", path(&chain_file)]);
    assert!(text.contains("CN = zhang.example.test"), "{text}");
    assert!(text.contains("DNS:zhang.example.test"), "{text}");
    assert!(
        !text.contains("whatever-the-csr-says"),
        "the vetted identity replaced the CSR's: {text}"
    );
    let openssl_serial = openssl(&["x509", "-noout", "-serial", "-in", path(&chain_file)]);
    assert_eq!(
        openssl_serial.trim().trim_start_matches("serial="),
        serial.replace(':', "").to_uppercase(),
        "the page's serial is the certificate's"
    );
    ra.stop().await;
}

/// Officer A files a request with the key generated on the server (P-256,
/// subject and SAN typed in), B approves, A creates the PKCS#12, reads its
/// one-time password off the page and downloads the file once; OpenSSL
/// opens it with that password and finds the certificate's key. Then A's
/// reports page counts the certificate, and the batch form offers the
/// signature field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_delivers_a_server_generated_key_as_pkcs12_in_chromium() {
    let ca = TestCa::start().await;
    let ra = Ra::start_with(Some(ca.link.clone()), |c| {
        c.profiles = vec![signet_ra::RaProfileConfig {
            name: "server".into(),
            approvals: 1,
        }];
        // Fewer PBKDF2 rounds keep a debug build quick; same format.
        c.pkcs12.pbkdf2_iterations = 10_000;
    })
    .await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    let a = ra
        .officer(&mut admin.browser, "alice", "officer", root)
        .await;
    let b = ra.officer(&mut admin.browser, "bob", "officer", root).await;

    let ra_base = ra.base.clone();
    let driver = Driver::start(&ra.web_roots);
    let alice = driver.session("alice");
    log_in(&ra, &alice, "alice", &a.totp);

    // Alice asks for the key to be made on the server.
    alice.go(&format!("{ra_base}/requests/new"));
    alice.click("#profile option[value='server']");
    alice.click("#key_source option[value='server']");
    alice.click("#key_type option[value='p256']");
    alice.type_into("#subject", "CN=kiosk.example.test,O=Signet Test");
    alice.type_into("#sans", "DNS:kiosk.example.test");
    alice.type_into("#comment", "lobby kiosk, no tooling");
    alice.screenshot_page("request-new-server-key");
    alice.click("form[action='/requests/new'] button[type=submit]");
    let url = alice.wait_url("on the filed request", |u| {
        u.contains("/requests/") && !u.ends_with("/requests/new")
    });
    let uid = url
        .rsplit_once("/requests/")
        .map(|(_, uid)| uid.to_owned())
        .unwrap_or_else(|| panic!("not on a request page: {url}"));
    assert!(
        alice.text("#server-key-state").contains("stored encrypted"),
        "{}",
        alice.source()
    );

    // Bob approves it.
    let bob = driver.session("bob");
    log_in(&ra, &bob, "bob", &b.totp);
    bob.go(&url);
    bob.click(&format!(
        "form[action='/requests/{uid}/approve'] button[type=submit]"
    ));
    // The answer is the same URL: wait for the page showing the serial
    // (the approval was the last one, so the RA asked the CA).
    bob.wait_source("the request issued", |p| p.contains("id=\"serial\""));
    bob.close();

    // Alice creates the PKCS#12 and reads its password, shown once.
    alice.go(&url);
    let serial = alice.text("#serial");
    assert!(!serial.trim().is_empty(), "{}", alice.source());
    alice.click("#create-pkcs12");
    alice.wait_source("shown the password", |p| {
        p.contains("id=\"pkcs12-password\"")
    });
    let otp = alice.text("#pkcs12-password");
    assert_eq!(otp.len(), 23, "four groups of five: {otp}");
    alice.screenshot("pkcs12-password");
    let download =
        alice.submit_for_download(&format!("form[action='/requests/{uid}/pkcs12/download']"));
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(download.content_type, "application/x-pkcs12");
    assert_eq!(
        download.disposition,
        format!("attachment; filename=\"{serial}.p12\"")
    );
    // Once only: the RA holds the key no more.
    let again =
        alice.submit_for_download(&format!("form[action='/requests/{uid}/pkcs12/download']"));
    assert_eq!(again.status, 409, "{}", again.text());
    alice.go(&url);
    assert!(
        alice
            .text("#server-key-state")
            .contains("no longer holds the key"),
        "{}",
        alice.source()
    );

    // The reports count it, on the page and in the CSV export.
    alice.go(&format!("{ra_base}/reports"));
    assert_eq!(alice.text("#total-status"), "1", "{}", alice.source());
    alice.screenshot_page("reports");
    let csv = alice.fetch("/reports/export.csv");
    assert!(csv.contains("grouping,label,count"), "{csv}");
    assert!(csv.contains("\r\nprofile,\"server\",1\r\n"), "{csv}");
    assert!(csv.contains("\r\nstatus,\"valid\",1\r\n"), "{csv}");

    // The batch form takes a detached CMS signature beside the file.
    alice.go(&format!("{ra_base}/batches"));
    let signature = alice.find("#signature");
    let kind = alice.cmd("GET", &format!("/element/{signature}/property/type"), None);
    assert_eq!(kind["value"], "file");
    alice.screenshot_page("batch-signature");
    alice.close();
    drop(driver);

    // OpenSSL opens the file with the one-time password; the key inside
    // is the certificate's and the certificate chains to the root.
    let dir = tempfile::tempdir().unwrap();
    let p12 = dir.path().join("kiosk.p12");
    std::fs::write(&p12, &download.bytes).unwrap();
    let pass = format!("pass:{otp}");
    let all = openssl(&["pkcs12", "-in", path(&p12), "-passin", &pass, "-nodes"]);
    assert!(all.contains("-----BEGIN PRIVATE KEY-----"), "{all}");
    let leaf = dir.path().join("leaf.pem");
    let key = dir.path().join("key.pem");
    let chain = dir.path().join("chain.pem");
    for (out, what) in [(&leaf, "-clcerts"), (&chain, "-cacerts")] {
        openssl(&[
            "pkcs12",
            "-in",
            path(&p12),
            "-passin",
            &pass,
            "-nokeys",
            what,
            "-out",
            path(out),
        ]);
    }
    openssl(&[
        "pkcs12",
        "-in",
        path(&p12),
        "-passin",
        &pass,
        "-nocerts",
        "-nodes",
        "-out",
        path(&key),
    ]);
    assert_eq!(
        openssl(&["x509", "-noout", "-pubkey", "-in", path(&leaf)]),
        openssl(&["pkey", "-pubout", "-in", path(&key)]),
        "key and certificate differ"
    );
    let text = openssl(&["x509", "-noout", "-text", "-in", path(&leaf)]);
    assert!(
        text.contains("id-ecPublicKey") && text.contains("P-256"),
        "{text}"
    );
    assert!(text.contains("CN = kiosk.example.test"), "{text}");
    assert!(text.contains("DNS:kiosk.example.test"), "{text}");
    let full = dir.path().join("full.pem");
    std::fs::write(
        &full,
        format!(
            "{}{}",
            std::fs::read_to_string(&leaf).unwrap(),
            std::fs::read_to_string(&chain).unwrap()
        ),
    )
    .unwrap();
    verify(&ca.root_pem, &full);
    ra.stop().await;
}

/// Runs `openssl args`, which must succeed; its standard output.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The text of the element with `id` in a page's source ("" if absent).
fn text_of(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    page.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(text, _)| text.trim().to_owned())
        .unwrap_or_default()
}

/// `openssl verify` of the first certificate of `chain` (the rest as
/// untrusted intermediates) against `root`.
fn verify(root: &Path, chain: &Path) {
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(chain)
        .arg(chain)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
