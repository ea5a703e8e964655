//! The CertificateRequest reconciler against a mocked API server (the kube-rs convention:
//! `tower_test::mock::pair` behind `kube::Client::new`), each API call asserted by
//! method, path and body, and the real test CA (`cmp-server`) over HTTP behind the
//! issuer. Test names follow issuer-lib's checklist where one applies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cmp_proto::protection::SharedSecret;
use cmp_server::http::{HttpOptions, bind, serve};
use cmp_server::{MacCredential, Responder, TestCa, TestCaConfig};
use cmpv2_issuer::controller::{Context, Settings, reconcile};
use cmpv2_issuer::journal::{IN_FLIGHT_ANNOTATION, ISSUED_ANNOTATION};
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

const RA_REF: &str = "issuer-ra";
const SECRET: &str = "issuer-ra-secret";
const NS: &str = "apps";

type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// The mocked API server: answers the reconciler's calls one by one, in the order the
/// test expects them.
struct ApiServer {
    handle: ApiHandle,
}

impl ApiServer {
    /// The next call: asserts its method and path (without query), returns its JSON body
    /// (Null when empty), its query string, and the responder.
    async fn expect(
        &mut self,
        method: Method,
        path: &str,
    ) -> (Value, String, SendResponse<Response<Body>>) {
        let (request, send) =
            tokio::time::timeout(Duration::from_secs(30), self.handle.next_request())
                .await
                .unwrap_or_else(|_| panic!("no {method} {path} within 30 s"))
                .unwrap_or_else(|| panic!("the reconciler ended before {method} {path}"));
        assert_eq!(request.method(), method, "for {}", request.uri());
        assert_eq!(request.uri().path(), path);
        let query = request.uri().query().unwrap_or_default().to_owned();
        let bytes = request.into_body().collect_bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (body, query, send)
    }

    /// The next call, whatever it is.
    async fn next(&mut self) -> (Call, String, SendResponse<Response<Body>>) {
        let (request, send) =
            tokio::time::timeout(Duration::from_secs(30), self.handle.next_request())
                .await
                .expect("a call within 30 s")
                .expect("the reconciler ended early");
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or_default().to_owned();
        let bytes = request.into_body().collect_bytes().await.expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (Call { method, path, json }, query, send)
    }

    /// Answers `send` with `status` and `body`.
    fn respond(send: SendResponse<Response<Body>>, status: StatusCode, body: &Value) {
        send.send_response(
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(body).expect("json")))
                .expect("response"),
        );
    }

    /// The call after the reconciler returned: there must be none.
    async fn expect_no_more(mut self) {
        let next = tokio::time::timeout(Duration::from_secs(1), self.handle.next_request()).await;
        if let Ok(Some((request, _))) = next {
            panic!("unexpected call {} {}", request.method(), request.uri());
        }
    }
}

/// One API call as the reconciler made it.
struct Call {
    method: Method,
    path: String,
    json: Value,
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})
}

/// A context over the mocked API server.
fn mocked(settings: Settings) -> (Arc<Context>, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    (
        Arc::new(Context::new(client, settings, None)),
        ApiServer { handle },
    )
}

fn request_json(conditions: Value, annotations: Option<Value>) -> Value {
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {
            "name": "app", "namespace": NS, "uid": "uid-1", "resourceVersion": "10",
            "creationTimestamp": now_rfc3339(),
            "annotations": annotations.unwrap_or(json!({})),
        },
        "spec": {
            "request": base64(csr_pem().as_bytes()),
            "issuerRef": {"name": "ca", "kind": "CMPv2Issuer", "group": "cmpv2-issuer.dev"},
            "duration": "720h0m0s",
            "usages": ["digital signature", "server auth"],
        },
        "status": {"conditions": conditions},
    })
}

fn approved() -> Value {
    json!([
        {"type": "Ready", "status": "False", "reason": "Pending", "message": "Initializing"},
        {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "approved"},
    ])
}

fn request(value: &Value) -> Arc<cmpv2_issuer::cert_manager::CertificateRequest> {
    Arc::new(serde_json::from_value(value.clone()).expect("CertificateRequest"))
}

fn now_rfc3339() -> String {
    cmpv2_issuer::status::rfc3339(std::time::SystemTime::now())
}

fn base64(bytes: &[u8]) -> String {
    cmpv2_issuer::journal::encode_base64(bytes)
}

/// A fresh P-256 CSR from `openssl req`, as cert-manager would send one.
fn csr_pem() -> String {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=app.example",
            "-addext",
            "subjectAltName=DNS:app.example,IP:10.0.0.1",
        ])
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("PEM")
}

struct Ca {
    url: String,
    responder: Arc<Responder<TestCa>>,
}

/// The test CA over HTTP on a free port, on the test's runtime.
async fn start_ca(config: TestCaConfig) -> Ca {
    let ca = TestCa::new(config).expect("CA");
    let mut rc = ca.responder_config();
    rc.credentials.mac.insert(
        RA_REF.as_bytes().to_vec(),
        MacCredential {
            secret: SharedSecret::from(SECRET),
            may_act_as_ra: true,
        },
    );
    let responder = Arc::new(Responder::new(rc, ca));
    let (listener, addr): (_, SocketAddr) = bind(([127, 0, 0, 1], 0).into()).await.expect("bind");
    tokio::spawn(serve(
        listener,
        Arc::clone(&responder),
        HttpOptions::default(),
        std::future::pending(),
    ));
    Ca {
        url: format!("http://{addr}/.well-known/cmp"),
        responder,
    }
}

fn issuer_json(url: &str, ready: &str) -> Value {
    json!({
        "apiVersion": "cmpv2-issuer.dev/v1alpha1",
        "kind": "CMPv2Issuer",
        "metadata": {"name": "ca", "namespace": NS, "generation": 3},
        "spec": {
            "url": url,
            "protection": {"sharedSecret": {
                "secretRef": {"name": "cmp", "key": "secret"},
                "reference": RA_REF,
            }},
            "requestType": "cr",
            "trustAnchors": {"configMapRef": {"name": "cmp-roots", "key": "ca.crt"}},
        },
        "status": {"conditions": [
            {"type": "Ready", "status": ready, "reason": "Checked", "message": "probe", "observedGeneration": 3}
        ]},
    })
}

fn secret_json() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cmp", "namespace": NS},
        "data": {"secret": base64(SECRET.as_bytes())},
    })
}

fn ready_of(status_patch: &Value) -> &Value {
    status_patch["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .expect("a Ready condition in the patch")
}

fn assert_apply(query: &str) {
    assert!(query.contains("fieldManager=cmpv2-issuer"), "{query}");
    assert!(query.contains("force=true"), "{query}");
}

const STATUS_PATH: &str = "/apis/cert-manager.io/v1/namespaces/apps/certificaterequests/app/status";
const REQUEST_PATH: &str = "/apis/cert-manager.io/v1/namespaces/apps/certificaterequests/app";
const ISSUER_PATH: &str = "/apis/cmpv2-issuer.dev/v1alpha1/namespaces/apps/cmpv2issuers/ca";
const SECRET_PATH: &str = "/api/v1/namespaces/apps/secrets/cmp";
const CONFIG_MAP_PATH: &str = "/api/v1/namespaces/apps/configmaps/cmp-roots";

#[tokio::test]
async fn issuer_ref_unknown_group_is_ignored_without_a_write() {
    let (ctx, api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    value["spec"]["issuerRef"]["group"] = json!("cert-manager.io");
    let action = reconcile(request(&value), ctx).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    api.expect_no_more().await;
}

#[tokio::test]
async fn already_ready_failed_or_denied_is_left_alone() {
    for (status, reason) in [("True", "Issued"), ("False", "Failed"), ("False", "Denied")] {
        let (ctx, api) = mocked(Settings::default());
        let value = request_json(
            json!([{"type": "Ready", "status": status, "reason": reason}]),
            None,
        );
        let action = reconcile(request(&value), ctx).await.expect("reconcile");
        assert_eq!(action, Action::await_change(), "{status}/{reason}");
        api.expect_no_more().await;
    }
}

#[tokio::test]
async fn ignore_unless_approved_or_denied() {
    // Neither a fresh request nor an initialized one gets any write before an approver
    // decides.
    for conditions in [
        json!([]),
        json!([{"type": "Ready", "status": "Unknown", "reason": "Initializing"}]),
    ] {
        let (ctx, api) = mocked(Settings::default());
        let value = request_json(conditions, None);
        let action = reconcile(request(&value), ctx).await.expect("reconcile");
        assert_eq!(action, Action::await_change());
        api.expect_no_more().await;
    }
}

#[tokio::test]
async fn initialize_ready_condition() {
    let (ctx, mut api) = mocked(Settings::default());
    let value = request_json(
        json!([{"type": "Approved", "status": "True", "reason": "cert-manager.io"}]),
        None,
    );
    let task = tokio::spawn(reconcile(request(&value), ctx));
    let (patch, query, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    assert_apply(&query);
    let ready = ready_of(&patch);
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("Unknown"), Some("Initializing"))
    );
    assert_eq!(patch["kind"], "CertificateRequest");
    ApiServer::respond(send, StatusCode::OK, &value);
    assert_eq!(
        task.await.expect("join").expect("reconcile"),
        Action::await_change()
    );
    api.expect_no_more().await;
}

#[tokio::test]
async fn set_ready_denied_with_failure_time() {
    let (ctx, mut api) = mocked(Settings::default());
    let value = request_json(
        json!([
            {"type": "Ready", "status": "False", "reason": "Pending"},
            {"type": "Denied", "status": "True", "reason": "policy"},
        ]),
        None,
    );
    let task = tokio::spawn(reconcile(request(&value), ctx));
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("Denied"))
    );
    assert!(patch["status"]["failureTime"].is_string(), "{patch}");
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
}

#[tokio::test]
async fn pending_while_the_issuer_is_missing_or_not_ready() {
    for issuer in [None, Some(issuer_json("http://127.0.0.1:9/", "False"))] {
        let (ctx, mut api) = mocked(Settings::default());
        let value = request_json(approved(), None);
        let task = tokio::spawn(reconcile(request(&value), ctx));
        let (_, _, send) = api.expect(Method::GET, ISSUER_PATH).await;
        match &issuer {
            Some(i) => ApiServer::respond(send, StatusCode::OK, i),
            None => ApiServer::respond(send, StatusCode::NOT_FOUND, &not_found()),
        }
        let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
        let ready = ready_of(&patch);
        assert_eq!(ready["reason"], "Pending", "{patch}");
        let message = ready["message"].as_str().expect("message");
        assert!(
            message.contains(if issuer.is_some() {
                "not ready"
            } else {
                "not found"
            }),
            "{message}"
        );
        ApiServer::respond(send, StatusCode::OK, &value);
        let action = task.await.expect("join").expect("reconcile");
        assert_eq!(action, Action::requeue(Settings::default().issuer_wait));
        api.expect_no_more().await;
    }
}

/// Answers the issuer, Secret and ConfigMap reads of a signing reconcile; `roots` is
/// the PEM of the CMP trust anchors.
async fn serve_issuer_and_secret(api: &mut ApiServer, issuer: &Value, roots: &str) {
    let (_, _, send) = api.expect(Method::GET, ISSUER_PATH).await;
    ApiServer::respond(send, StatusCode::OK, issuer);
    let (_, _, send) = api.expect(Method::GET, SECRET_PATH).await;
    ApiServer::respond(send, StatusCode::OK, &secret_json());
    let (_, _, send) = api.expect(Method::GET, CONFIG_MAP_PATH).await;
    ApiServer::respond(
        send,
        StatusCode::OK,
        &json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cmp-roots", "namespace": NS},
            "data": {"ca.crt": roots},
        }),
    );
}

fn root_pem(ca: &Ca) -> String {
    der::EncodePem::to_pem(ca.responder.ca().root(), der::pem::LineEnding::LF).expect("PEM")
}

/// Serves journal writes until the status patch comes; returns it, its query, its
/// responder and how many journal writes came first.
async fn serve_until_status(
    api: &mut ApiServer,
    value: &mut Value,
    version: &mut u64,
) -> (Value, String, SendResponse<Response<Body>>, usize) {
    let mut writes = 0;
    loop {
        let (body, query, send) = api.next().await;
        if body.path == STATUS_PATH {
            assert_eq!(body.method, Method::PATCH);
            return (body.json, query, send, writes);
        }
        assert_eq!(
            (body.method.clone(), body.path.as_str()),
            (Method::PATCH, REQUEST_PATH)
        );
        answer_journal_write(&body.json, send, value, version);
        writes += 1;
    }
}

/// Answers one journal write: checks it is a merge patch of our annotations that names
/// the resourceVersion it read, applies it, and answers with the next version. Returns
/// the annotations it wrote (null for one it removed).
async fn serve_journal_write(api: &mut ApiServer, value: &mut Value, version: &mut u64) -> Value {
    let (patch, _, send) = api.expect(Method::PATCH, REQUEST_PATH).await;
    answer_journal_write(&patch, send, value, version)
}

fn answer_journal_write(
    patch: &Value,
    send: SendResponse<Response<Body>>,
    value: &mut Value,
    version: &mut u64,
) -> Value {
    assert_eq!(
        patch["metadata"]["resourceVersion"],
        json!(version.to_string()),
        "{patch}"
    );
    let written = patch["metadata"]["annotations"]
        .as_object()
        .expect("an annotations patch");
    for (key, annotation) in written {
        assert!(
            key == IN_FLIGHT_ANNOTATION || key == ISSUED_ANNOTATION,
            "{patch}"
        );
        let annotations = value["metadata"]["annotations"]
            .as_object_mut()
            .expect("annotations");
        if annotation.is_null() {
            annotations.remove(key);
        } else {
            annotations.insert(key.clone(), annotation.clone());
        }
    }
    *version += 1;
    value["metadata"]["resourceVersion"] = json!(version.to_string());
    ApiServer::respond(send, StatusCode::OK, value);
    patch["metadata"]["annotations"].clone()
}

#[tokio::test]
async fn success_issuer_writes_chain_and_ca_after_journaling_each_message() {
    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let mut version = 10;
    // cr, then certConf: each recorded before it is sent.
    for _ in 0..2 {
        let written = serve_journal_write(&mut api, &mut value, &mut version).await;
        assert!(written[IN_FLIGHT_ANNOTATION].is_string(), "{written}");
    }
    // Then the certificate replaces the checkpoint, before the status is written.
    let written = serve_journal_write(&mut api, &mut value, &mut version).await;
    assert!(written[IN_FLIGHT_ANNOTATION].is_null(), "{written}");
    assert!(written[ISSUED_ANNOTATION].is_string(), "{written}");
    let (patch, query, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    assert_apply(&query);
    let ready = ready_of(&patch);
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("True"), Some("Issued"))
    );
    let chain = pem_field(&patch, "certificate");
    let certs = x509_cert::Certificate::load_pem_chain(chain.as_bytes()).expect("chain");
    assert_eq!(certs.len(), 2, "leaf and issuing CA");
    let leaf = certs[0].tbs_certificate();
    assert_eq!(leaf.subject().to_string(), "CN=app.example");
    let ca_pem = pem_field(&patch, "ca");
    let roots = x509_cert::Certificate::load_pem_chain(ca_pem.as_bytes()).expect("ca");
    assert_eq!(roots, vec![ca.responder.ca().root().clone()]);
    ApiServer::respond(send, StatusCode::OK, &value);
    assert_eq!(
        task.await.expect("join").expect("reconcile"),
        Action::await_change()
    );
    api.expect_no_more().await;
    assert_eq!(ca.responder.ca().issued_count(), 1);
}

/// A root that has nothing to do with the CA under test.
fn unrelated_root() -> String {
    let other = TestCa::new(TestCaConfig::default()).expect("CA");
    der::EncodePem::to_pem(other.root(), der::pem::LineEnding::LF).expect("PEM")
}

fn pem_field(patch: &Value, field: &str) -> String {
    let b64 = patch["status"][field]
        .as_str()
        .unwrap_or_else(|| panic!("status.{field}"));
    let bytes: k8s_openapi::ByteString = serde_json::from_value(json!(b64)).expect("base64");
    String::from_utf8(bytes.0).expect("PEM")
}

#[tokio::test]
async fn ca_waiting_is_pending_then_issued_by_resuming_the_same_transaction() {
    let ca = start_ca(TestCaConfig {
        poll_count: 2,
        check_after: Duration::from_secs(1),
        ..TestCaConfig::default()
    })
    .await;
    let mut value = request_json(approved(), None);
    let mut version = 10;
    {
        let (ctx, mut api) = mocked(Settings::default());
        let task = tokio::spawn(reconcile(request(&value), Arc::clone(&ctx)));
        serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
        // cr, then the pollReq, which waits for the next attempt: polling holds no
        // worker.
        let (patch, _, send, writes) = serve_until_status(&mut api, &mut value, &mut version).await;
        assert_eq!(writes, 2, "{patch}");
        let ready = ready_of(&patch);
        assert_eq!(ready["reason"], "Pending");
        assert!(
            ready["message"]
                .as_str()
                .expect("message")
                .contains("processing"),
            "{patch}"
        );
        ApiServer::respond(send, StatusCode::OK, &value);
        let action = task.await.expect("join").expect("reconcile");
        assert_eq!(action, Action::requeue(Duration::from_secs(1)));
        assert!(
            value["metadata"]["annotations"][IN_FLIGHT_ANNOTATION].is_string(),
            "the pollReq is recorded"
        );
        // The status write wakes the controller at once: held back until checkAfter,
        // with no call at all.
        let action = reconcile(request(&value), ctx).await.expect("reconcile");
        assert_ne!(action, Action::await_change());
        api.expect_no_more().await;
    }
    // A restarted issuer (a new context) picks the request up from its annotation and
    // polls until the CA decides.
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 10, "the transaction never ended");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (ctx, mut api) = mocked(Settings::default());
        let task = tokio::spawn(reconcile(request(&value), ctx));
        serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
        let (patch, _, send, writes) = serve_until_status(&mut api, &mut value, &mut version).await;
        assert!(writes >= 1, "every message is journaled first");
        let reason = ready_of(&patch)["reason"]
            .as_str()
            .expect("reason")
            .to_owned();
        ApiServer::respond(send, StatusCode::OK, &value);
        task.await.expect("join").expect("reconcile");
        api.expect_no_more().await;
        if reason == "Issued" {
            break;
        }
        assert_eq!(reason, "Pending", "{patch}");
    }
    assert_eq!(
        ca.responder.ca().issued_count(),
        1,
        "one certificate for one request"
    );
}

#[tokio::test]
async fn ca_rejection_is_failed_at_once_with_the_fail_info() {
    let ca = start_ca(TestCaConfig {
        allowed_keys: vec![cmp_server::ca::AllowedKey::Rsa { min_bits: 2048 }],
        ..TestCaConfig::default()
    })
    .await;
    let (ctx, mut api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let mut version = 10;
    serve_journal_write(&mut api, &mut value, &mut version).await;
    // The transaction is over (the CA ended it, or never got it): the checkpoint goes.
    let cleared = serve_journal_write(&mut api, &mut value, &mut version).await;
    assert!(cleared[IN_FLIGHT_ANNOTATION].is_null(), "{cleared}");
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("Failed"))
    );
    let message = ready["message"].as_str().expect("message");
    assert!(
        message.contains("badAlg") || message.contains("badCertTemplate"),
        "{message}"
    );
    assert!(patch["status"]["failureTime"].is_string());
    ApiServer::respond(send, StatusCode::OK, &value);
    assert_eq!(
        task.await.expect("join").expect("reconcile"),
        Action::await_change()
    );
    api.expect_no_more().await;
}

#[tokio::test]
async fn retry_on_a_retryable_error_with_backoff() {
    let (ctx, mut api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    let task = tokio::spawn(reconcile(request(&value), Arc::clone(&ctx)));
    serve_issuer_and_secret(
        &mut api,
        &issuer_json("http://127.0.0.1:9/", "True"),
        &unrelated_root(),
    )
    .await;
    let mut version = 10;
    serve_journal_write(&mut api, &mut value, &mut version).await;
    // The transaction is over (the CA ended it, or never got it): the checkpoint goes.
    let cleared = serve_journal_write(&mut api, &mut value, &mut version).await;
    assert!(cleared[IN_FLIGHT_ANNOTATION].is_null(), "{cleared}");
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(ready["reason"], "Pending", "{patch}");
    assert!(
        ready["message"]
            .as_str()
            .expect("message")
            .contains("attempt 1"),
        "{patch}"
    );
    assert!(patch["status"].get("failureTime").is_none());
    value["status"]["conditions"][0] = ready.clone();
    ApiServer::respond(send, StatusCode::OK, &value);
    let action = task.await.expect("join").expect("reconcile");
    assert_eq!(action, Action::requeue(Settings::default().retry_base));
    // Our own status write wakes the controller at once: the backoff still holds, with
    // no call to the API server or the CA.
    let action = reconcile(request(&value), ctx).await.expect("reconcile");
    assert_ne!(action, Action::await_change());
    assert!(
        format!("{action:?}").contains("requeue_after: Some"),
        "{action:?}"
    );
    api.expect_no_more().await;
}

#[tokio::test]
async fn timeout_turns_a_retryable_error_permanent() {
    let (ctx, mut api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    // Created two hours ago; the issuer gives up after one (the default).
    value["metadata"]["creationTimestamp"] = json!(cmpv2_issuer::status::rfc3339(
        std::time::SystemTime::now() - Duration::from_secs(7200)
    ));
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(
        &mut api,
        &issuer_json("http://127.0.0.1:9/", "True"),
        &unrelated_root(),
    )
    .await;
    let mut version = 10;
    serve_journal_write(&mut api, &mut value, &mut version).await;
    // The transaction is over (the CA ended it, or never got it): the checkpoint goes.
    let cleared = serve_journal_write(&mut api, &mut value, &mut version).await;
    assert!(cleared[IN_FLIGHT_ANNOTATION].is_null(), "{cleared}");
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(ready["reason"], "Failed", "{patch}");
    assert!(
        ready["message"]
            .as_str()
            .expect("message")
            .contains("gave up"),
        "{patch}"
    );
    ApiServer::respond(send, StatusCode::OK, &value);
    assert_eq!(
        task.await.expect("join").expect("reconcile"),
        Action::await_change()
    );
    api.expect_no_more().await;
}

fn conflict() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"})
}

/// Another writer recorded a transaction since we read the request: the conflict stands
/// and nothing reaches the CA.
#[tokio::test]
async fn a_journal_conflict_with_another_writer_sends_nothing_to_the_ca() {
    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let value = request_json(approved(), None);
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let (_, _, send) = api.expect(Method::PATCH, REQUEST_PATH).await;
    ApiServer::respond(send, StatusCode::CONFLICT, &conflict());
    let (_, _, send) = api.expect(Method::GET, REQUEST_PATH).await;
    let mut theirs = value.clone();
    theirs["metadata"]["resourceVersion"] = json!("11");
    theirs["metadata"]["annotations"][IN_FLIGHT_ANNOTATION] = json!("MAMCAQH/");
    ApiServer::respond(send, StatusCode::OK, &theirs);
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    assert_eq!(ready_of(&patch)["reason"], "Pending", "{patch}");
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
    assert_eq!(
        ca.responder.ca().issued_count(),
        0,
        "nothing reached the CA"
    );
}

/// Only others' fields changed (an approver's status write): the journal write is
/// retried at the new resourceVersion and the request is issued without a backoff.
#[tokio::test]
async fn a_journal_conflict_from_a_status_write_is_retried_at_once() {
    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let mut value = request_json(approved(), None);
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let (_, _, send) = api.expect(Method::PATCH, REQUEST_PATH).await;
    ApiServer::respond(send, StatusCode::CONFLICT, &conflict());
    let (_, _, send) = api.expect(Method::GET, REQUEST_PATH).await;
    let mut version = 11;
    value["metadata"]["resourceVersion"] = json!("11");
    ApiServer::respond(send, StatusCode::OK, &value);
    let (patch, _, send, writes) = serve_until_status(&mut api, &mut value, &mut version).await;
    assert_eq!(writes, 3, "cr (again), certConf and the certificate");
    assert_eq!(ready_of(&patch)["reason"], "Issued", "{patch}");
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
    assert_eq!(ca.responder.ca().issued_count(), 1);
}

#[tokio::test]
async fn success_clusterissuer_reads_its_secrets_from_the_cluster_resource_namespace() {
    let ca = start_ca(TestCaConfig::default()).await;
    let settings = Settings {
        cluster_resource_namespace: "issuer-system".into(),
        ..Settings::default()
    };
    let (ctx, mut api) = mocked(settings);
    let mut value = request_json(approved(), None);
    value["spec"]["issuerRef"]["kind"] = json!("CMPv2ClusterIssuer");
    let task = tokio::spawn(reconcile(request(&value), ctx));
    let mut issuer = issuer_json(&ca.url, "True");
    issuer["kind"] = json!("CMPv2ClusterIssuer");
    issuer["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("namespace");
    let (_, _, send) = api
        .expect(
            Method::GET,
            "/apis/cmpv2-issuer.dev/v1alpha1/cmpv2clusterissuers/ca",
        )
        .await;
    ApiServer::respond(send, StatusCode::OK, &issuer);
    let (_, _, send) = api
        .expect(Method::GET, "/api/v1/namespaces/issuer-system/secrets/cmp")
        .await;
    ApiServer::respond(send, StatusCode::OK, &secret_json());
    let (_, _, send) = api
        .expect(
            Method::GET,
            "/api/v1/namespaces/issuer-system/configmaps/cmp-roots",
        )
        .await;
    ApiServer::respond(
        send,
        StatusCode::OK,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cmp-roots"}, "data": {"ca.crt": root_pem(&ca)}}),
    );
    let mut version = 10;
    let (patch, _, send, writes) = serve_until_status(&mut api, &mut value, &mut version).await;
    assert_eq!(writes, 3, "cr, certConf and the certificate");
    assert_eq!(ready_of(&patch)["reason"], "Issued", "{patch}");
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
    assert_eq!(ca.responder.ca().issued_count(), 1);
}

/// The issuer reconciler probes the CA with a caCerts genm and writes Ready with the
/// generation it checked; an unreachable CA leaves it Pending and checked again soon.
#[tokio::test]
async fn issuer_is_ready_only_when_its_ca_answers() {
    use cmpv2_issuer::api::CMPv2Issuer;
    use cmpv2_issuer::issuer_health;

    let ca = start_ca(TestCaConfig::default()).await;
    for (url, health_check, ready, reason) in [
        (ca.url.clone(), "GeneralMessage", "True", "Checked"),
        (
            "http://127.0.0.1:9/".to_owned(),
            "GeneralMessage",
            "False",
            "Pending",
        ),
        // A CA without general messages: Ready on usable credentials, not probed.
        ("http://127.0.0.1:9/".to_owned(), "None", "True", "Checked"),
    ] {
        let (ctx, mut api) = mocked(Settings::default());
        let mut issuer = issuer_json(&url, "Unknown");
        issuer["status"] = json!({});
        issuer["spec"]["healthCheck"] = json!(health_check);
        let object: CMPv2Issuer = serde_json::from_value(issuer.clone()).expect("issuer");
        let task = tokio::spawn(issuer_health::reconcile(
            Arc::new(object.clone()),
            Arc::clone(&ctx),
        ));
        serve_issuer_credentials(&mut api, &root_pem(&ca)).await;
        let (patch, query, send) = api
            .expect(Method::PATCH, &format!("{ISSUER_PATH}/status"))
            .await;
        assert_apply(&query);
        let condition = ready_of(&patch);
        assert_eq!(condition["status"], ready, "{patch}");
        assert_eq!(condition["reason"], reason, "{patch}");
        assert_eq!(condition["observedGeneration"], 3, "{patch}");
        ApiServer::respond(send, StatusCode::OK, &issuer);
        let action = task.await.expect("join").expect("reconcile");
        let expected = if ready == "True" {
            Action::requeue(Duration::from_secs(300))
        } else {
            Action::requeue(issuer_health::RETRY)
        };
        assert_eq!(action, expected);
        // Our own status write wakes the controller at once: no probe, no write until
        // the next one is due.
        let again = issuer_health::reconcile(Arc::new(object.clone()), Arc::clone(&ctx))
            .await
            .expect("reconcile");
        assert_ne!(again, Action::await_change());
        api.expect_no_more().await;
    }
}

/// A spec change (a new generation) is probed at once, whatever the schedule.
#[tokio::test]
async fn a_new_issuer_generation_is_probed_at_once() {
    use cmpv2_issuer::api::CMPv2Issuer;
    use cmpv2_issuer::issuer_health;

    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let mut issuer = issuer_json(&ca.url, "Unknown");
    issuer["status"] = json!({});
    for generation in [3, 4] {
        issuer["metadata"]["generation"] = json!(generation);
        let object: CMPv2Issuer = serde_json::from_value(issuer.clone()).expect("issuer");
        let task = tokio::spawn(issuer_health::reconcile(Arc::new(object), Arc::clone(&ctx)));
        serve_issuer_credentials(&mut api, &root_pem(&ca)).await;
        let (patch, _, send) = api
            .expect(Method::PATCH, &format!("{ISSUER_PATH}/status"))
            .await;
        assert_eq!(
            ready_of(&patch)["observedGeneration"],
            generation,
            "{patch}"
        );
        ApiServer::respond(send, StatusCode::OK, &issuer);
        task.await.expect("join").expect("reconcile");
    }
    api.expect_no_more().await;
}

/// Once the CA has issued, the certificate is never lost to a failed status write or a
/// restart: the next attempt writes it from memory without the issuer, its Secrets or the
/// CA, or from the request's annotation once the issuer's trust anchors vouch for it
/// (anybody who may patch the request may write the annotation), without the CA.
#[tokio::test]
async fn an_issued_certificate_survives_a_failed_status_write_and_a_restart() {
    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let stale = request_json(approved(), None);
    let mut value = stale.clone();
    let task = tokio::spawn(reconcile(request(&value), Arc::clone(&ctx)));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let mut version = 10;
    let (patch, _, send, writes) = serve_until_status(&mut api, &mut value, &mut version).await;
    assert_eq!(writes, 3, "cr, certConf and the certificate");
    let certificate = pem_field(&patch, "certificate");
    ApiServer::respond(
        send,
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "InternalError", "code": 500, "message": "etcd timeout"}),
    );
    assert!(
        task.await.expect("join").is_err(),
        "the reconcile is retried"
    );

    // The retry, even from a cache that has not seen the annotation yet.
    let task = tokio::spawn(reconcile(request(&stale), Arc::clone(&ctx)));
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    assert_eq!(ready_of(&patch)["reason"], "Issued", "{patch}");
    assert_eq!(pem_field(&patch, "certificate"), certificate);
    ApiServer::respond(
        send,
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "InternalError", "code": 500, "message": "etcd timeout"}),
    );
    assert!(task.await.expect("join").is_err());
    api.expect_no_more().await;

    // A restarted issuer (a new context) has only the annotation, and checks it.
    let (ctx, mut api) = mocked(Settings::default());
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    assert_eq!(ready_of(&patch)["reason"], "Issued", "{patch}");
    assert_eq!(pem_field(&patch, "certificate"), certificate);
    let ca_pem = pem_field(&patch, "ca");
    assert_eq!(ca_pem, root_pem(&ca));
    ApiServer::respond(send, StatusCode::OK, &value);
    assert_eq!(
        task.await.expect("join").expect("reconcile"),
        Action::await_change()
    );
    api.expect_no_more().await;
    assert_eq!(ca.responder.ca().issued_count(), 1, "the CA was asked once");
}

/// A result somebody else wrote into the annotation is not believed (issue 16, finding
/// 5): here the CA's own root certificate, which is not for the CSR's key.
#[tokio::test]
async fn a_forged_issued_annotation_is_not_believed() {
    let ca = start_ca(TestCaConfig::default()).await;
    let (ctx, mut api) = mocked(Settings::default());
    let forged =
        json!({"certificate": root_pem(&ca), "ca": root_pem(&ca), "grantedWithMods": false});
    let value = request_json(
        approved(),
        Some(json!({ISSUED_ANNOTATION: forged.to_string()})),
    );
    let task = tokio::spawn(reconcile(request(&value), ctx));
    serve_issuer_and_secret(&mut api, &issuer_json(&ca.url, "True"), &root_pem(&ca)).await;
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(ready["reason"], "Failed", "{patch}");
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.contains("not for the CSR's key")),
        "{patch}"
    );
    assert!(
        patch["status"]["certificate"].is_null(),
        "nothing issued: {patch}"
    );
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
    assert_eq!(ca.responder.ca().issued_count(), 0, "nor asked for");
}

/// A recorded result that no longer parses is not taken for "nothing issued yet".
#[tokio::test]
async fn a_damaged_issued_annotation_fails_without_enrolling_again() {
    let (ctx, mut api) = mocked(Settings::default());
    let value = request_json(
        approved(),
        Some(json!({ISSUED_ANNOTATION: "{\"certificate\": 12"})),
    );
    let task = tokio::spawn(reconcile(request(&value), ctx));
    let (patch, _, send) = api.expect(Method::PATCH, STATUS_PATH).await;
    let ready = ready_of(&patch);
    assert_eq!(ready["reason"], "Failed", "{patch}");
    assert!(
        ready["message"]
            .as_str()
            .expect("message")
            .contains("not enrolling again"),
        "{patch}"
    );
    ApiServer::respond(send, StatusCode::OK, &value);
    task.await.expect("join").expect("reconcile");
    api.expect_no_more().await;
}

/// Answers the issuer reconciler's reads of its Secret and its CMP roots ConfigMap.
async fn serve_issuer_credentials(api: &mut ApiServer, roots: &str) {
    let (_, _, send) = api.expect(Method::GET, SECRET_PATH).await;
    ApiServer::respond(send, StatusCode::OK, &secret_json());
    let (_, _, send) = api.expect(Method::GET, CONFIG_MAP_PATH).await;
    ApiServer::respond(
        send,
        StatusCode::OK,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cmp-roots"}, "data": {"ca.crt": roots}}),
    );
}
