//! The connection: reconnecting after a dropped one (through a relay the test cuts), and StartTLS.

use super::*;

/// A TCP relay in front of slapd whose connections the test can cut (a server restart, a load
/// balancer's idle timeout).
struct Relay {
    port: u16,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    listener: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c, a) = (conns.clone(), accepted.clone());
        let listener = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let up = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay {
            port,
            conns,
            accepted,
            listener,
        }
    }

    fn cut_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut_all();
        self.listener.abort();
    }
}

/// The shared connection is re-opened after it drops; StartTLS works, and an untrusted
/// certificate is refused unless `tls_no_verify` says otherwise.
#[tokio::test]
#[ignore = "needs slapd: run the README's test command"]
async fn ldap_adapter_reconnects_and_speaks_starttls() {
    let (dir, mut l, run) = fresh_run().await;
    for uid in ["ada", "bob"] {
        run.add_person(&dir, &mut l, uid, uid, &[]).await;
    }
    let upstream = dir
        .url
        .strip_prefix("ldap://")
        .expect("an ldap:// URL")
        .trim_end_matches('/')
        .to_string();
    let relay = Relay::start(upstream).await;
    let cfg = run
        .config(&dir, "")
        .replace(&dir.url, &format!("ldap://127.0.0.1:{}", relay.port));
    let target = ldap_target(&cfg, "test");
    let ada = employee("E-ada", Some("ada"), None);
    assert_eq!(target.discover(&ada).await.unwrap().len(), 1);
    assert_eq!(target.discover(&ada).await.unwrap().len(), 1);
    assert_eq!(relay.accepted(), 1, "one connection serves every call");
    relay.cut_all();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = revoke(&target, &ada).await;
    assert_outcome(&r, Outcome::Revoked);
    assert_eq!(relay.accepted(), 2, "a dropped connection is opened again");
    assert_eq!(
        dir.values(&mut l, &run.person_dn("ada"), "pwdAccountLockedTime")
            .await,
        vec!["000001010000Z"]
    );

    // StartTLS on the same port (slapd.sh gives the instance a self-signed certificate).
    let tls = ldap_target(
        &run.config(&dir, "starttls = true\ntls_no_verify = true"),
        "tls",
    );
    let bob = employee("E-bob", Some("bob"), None);
    match tls.discover(&bob).await {
        Err(e) => panic!("StartTLS with tls_no_verify failed: {e}"),
        Ok(_) => {
            let r = revoke(&tls, &bob).await;
            assert_outcome(&r, Outcome::Revoked);
            // Verification is on by default: the self-signed certificate is not trusted.
            let strict = ldap_target(&run.config(&dir, "starttls = true"), "strict");
            match strict.discover(&bob).await {
                Err(e @ TargetError::Permanent(_)) => {
                    let s = e.to_string();
                    assert!(s.to_lowercase().contains("certificate"), "{s}");
                    assert!(!s.contains(&dir.bind_pw), "{s}");
                }
                other => {
                    panic!("an untrusted certificate: expected a permanent error, got {other:?}")
                }
            }
        }
    }

    dir.delete_tree(&mut l, &run.root).await;
    let _ = l.unbind().await;
}
