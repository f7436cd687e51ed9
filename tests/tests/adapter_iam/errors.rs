//! Config and connection errors, and how SDK errors are classified (against an in-process double).

use super::*;

#[tokio::test]
#[ignore = "needs moto: run the README's test command"]
async fn iam_adapter_config_and_connection_errors() {
    let moto = Moto::from_env().await;
    // An endpoint nobody answers: the revoker's credential check fails now, as a config error
    // that names what to check and no secret.
    let e = iam_target(
        "endpoint_url = \"http://127.0.0.1:9\"\naccess_key_id_env = \"REVOKE_TEST_AWS_ACCESS_KEY_ID\"\nsecret_access_key_env = \"REVOKE_TEST_AWS_SECRET_ACCESS_KEY\"\ntimeout_ms = 2000",
        "dead",
    )
    .await
    .err()
    .expect("an unreachable endpoint is refused");
    assert!(e.contains("checking the revoker's credentials"), "{e}");
    assert!(!e.contains(DUMMY_SECRET), "{e}");
    // Static credentials named but not set: refused before any call.
    let e = iam_target(
        &format!(
            "endpoint_url = \"{}\"\naccess_key_id_env = \"REVOKE_TEST_AWS_UNSET_ID\"\nsecret_access_key_env = \"{SECRET_ENV}\"",
            moto.url
        ),
        "unset",
    )
    .await
    .err()
    .expect("a missing credential is refused");
    assert!(e.contains("REVOKE_TEST_AWS_UNSET_ID"), "{e}");
    // A tampered evidence id never reaches IAM.
    let target = iam_target(&base_table(&moto.url), "test").await.unwrap();
    let h = holding("access_key", "access_key/*/AKIA1", "deactivate");
    match target.revoke(&employee("E1", Some("x"), None), &h).await {
        Err(TargetError::Permanent(m)) => assert!(m.contains("not an IAM object"), "{m}"),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

/// A stand-in that speaks IAM's query protocol just enough: `GetUser` of the caller succeeds,
/// every other action answers the error the test sets (as IAM formats it), so the SDK parses real
/// error responses and the adapter's classification is checked end to end. Needs no moto.
mod double {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use std::sync::{Arc, Mutex};

    pub type Mode = Arc<Mutex<(u16, String)>>;

    async fn handle(State(mode): State<Mode>, body: Bytes) -> Response {
        let body = String::from_utf8_lossy(&body);
        let xml = [("content-type", "text/xml")];
        if body.contains("Action=GetUser&") && !body.contains("UserName=") {
            return (
                StatusCode::OK,
                xml,
                "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult><User><Path>/</Path><UserName>revoker</UserName><UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/revoker</Arn><CreateDate>2020-01-01T00:00:00Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetUserResponse>",
            )
                .into_response();
        }
        let (status, code) = mode.lock().unwrap().clone();
        if status == 200 && body.contains("Action=ListAccessKeys&") {
            // One active key: the id of the credential the adapter itself signs with.
            return (
                StatusCode::OK,
                xml,
                "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult><AccessKeyMetadata><member><UserName>ada</UserName><AccessKeyId>testing</AccessKeyId><Status>Active</Status><CreateDate>2020-01-01T00:00:00Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></ListAccessKeysResponse>",
            )
                .into_response();
        }
        let status = StatusCode::from_u16(status).unwrap();
        if code.is_empty() {
            return (status, "<html>upstream trouble</html>").into_response();
        }
        (
            status,
            xml,
            format!("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the double</Message></Error><RequestId>r2</RequestId></ErrorResponse>"),
        )
            .into_response()
    }

    /// (url, mode, server task)
    pub async fn start() -> (String, Mode, tokio::task::JoinHandle<()>) {
        let mode: Mode = Arc::new(Mutex::new((200, String::new())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(axum::routing::post(handle))
            .with_state(mode.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (url, mode, server)
    }
}

#[tokio::test]
async fn iam_adapter_classifies_sdk_errors() {
    std::env::set_var(KEY_ENV, "testing");
    std::env::set_var(SECRET_ENV, DUMMY_SECRET);
    let (url, mode, server) = double::start().await;
    let target = iam_target(
        &format!("{}\ntimeout_ms = 3000", base_table(&url)),
        "double",
    )
    .await
    .expect("GetUser of the caller works on the double");
    assert_eq!(target.principal(), "arn:aws:iam::123456789012:user/revoker");
    let who = employee("E1", Some("ada"), None);
    let set = |status: u16, code: &str| *mode.lock().unwrap() = (status, code.to_string());

    for (status, code, want) in [
        (400, "Throttling", "transient"),
        (500, "ServiceFailure", "transient"),
        (503, "", "transient"),
        (400, "RequestLimitExceeded", "transient"),
        (403, "AccessDenied", "permanent"),
        (403, "InvalidClientTokenId", "permanent"),
        (400, "ValidationError", "permanent"),
        (403, "SomethingNew", "permanent"),
        (429, "SomethingNew", "transient"),
    ] {
        set(status, code);
        let e = target
            .discover(&who)
            .await
            .expect_err("the double refuses every listing");
        // Throttling comes as `RateLimited`, which is transient: the class decides.
        let class = match e.class() {
            revoke_shared::retry::ErrorClass::Transient => "transient",
            revoke_shared::retry::ErrorClass::Permanent => "permanent",
            revoke_shared::retry::ErrorClass::Ambiguous => "ambiguous",
        };
        assert_eq!(class, want, "{status} {code:?}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("on IAM double"), "{msg}");
        assert!(!msg.contains(DUMMY_SECRET), "{msg}");
        if !code.is_empty() {
            assert!(msg.contains(code), "{msg}");
        }
        if code == "AccessDenied" {
            assert!(msg.contains("IAM policy"), "{msg}");
        }
        if code == "InvalidClientTokenId" {
            assert!(msg.contains("credentials"), "{msg}");
        }
    }

    // NoSuchEntity on revoke is "already absent", on read-back "gone".
    set(404, "NoSuchEntity");
    let profile = holding("login_profile", "login_profile/ada", "delete");
    assert_eq!(
        target.revoke(&who, &profile).await.unwrap(),
        revoke::adapters::RevokeResult::AlreadyAbsent { removed_at: None }
    );
    assert!(target.verify(&who, &profile).await.unwrap().gone);
    let key = holding("access_key", "access_key/ada/AKIAEXAMPLE1", "deactivate");
    assert_eq!(
        target.revoke(&who, &key).await.unwrap(),
        revoke::adapters::RevokeResult::AlreadyAbsent { removed_at: None }
    );
    // The revoker's own key is never deactivated, whatever the evidence says.
    set(200, "");
    let own = revoke::adapters::Holding {
        object_id: "access_key/ada/testing".into(),
        ..key.clone()
    };
    match target.revoke(&who, &own).await {
        Err(TargetError::Permanent(m)) => assert!(m.contains("revoker's own"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // The endpoint goes away after start: a connection failure is transient.
    server.abort();
    let _ = server.await;
    match target.discover(&who).await {
        Err(e @ TargetError::Transient(_)) => {
            let m = e.to_string();
            assert!(m.contains("endpoint_url"), "{m}");
            assert!(!m.contains(DUMMY_SECRET), "{m}");
        }
        other => panic!("expected a transient error, got {other:?}"),
    }
}
