//! A misbehaving peer for the HTTP adapters' redirect tests: one loopback listener answers every
//! request with `302 Location: http://127.0.0.1:<port2>/<same path>`, and a second one, at
//! port2, records the head of every request it receives (and answers 200 `{}`). An adapter that
//! follows the redirect shows up in the second listener's record with its credential header.
//! Hand-written on purpose: it is a fixture for a peer doing the wrong thing, not a double of one.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct RedirectPeer {
    /// Where the adapter is pointed: answers 302 to `sink`.
    pub redirecting: String,
    /// Where the 302s point (`http://127.0.0.1:<port2>`).
    pub sink: String,
    /// The request heads (request line and headers) the sink received.
    received: Arc<Mutex<Vec<String>>>,
}

impl RedirectPeer {
    pub async fn start() -> RedirectPeer {
        let sink = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let sink_url = format!("http://{}", sink.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        serve(sink, move |head| {
            rec.lock().unwrap().push(head.to_string());
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_string()
        });
        let front = TcpListener::bind("127.0.0.1:0").await.expect("bind front");
        let redirecting = format!("http://{}", front.local_addr().unwrap());
        let to = sink_url.clone();
        serve(front, move |head| {
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        });
        RedirectPeer {
            redirecting,
            sink: sink_url,
            received,
        }
    }

    /// Every request head the redirect target received.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

/// Accepts connections for ever, answering each request (head read up to the blank line; bodies
/// are small and ignored) with what `answer` makes of its head.
fn serve(listener: TcpListener, answer: impl Fn(&str) -> String + Send + Sync + 'static) {
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let head = head.split("\r\n\r\n").next().unwrap_or("").to_string();
                let _ = sock.write_all(answer(&head).as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
}
