//! A real Prometheus server (Debian's `prometheus` binary) as a child process on a loopback port,
//! with a temporary configuration and storage, and a client for its HTTP API. Dropping it stops
//! the server and removes its directory, also when the test fails.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One sample of an instant query: its labels and value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

pub struct Prometheus {
    child: Child,
    pub port: u16,
    dir: PathBuf,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus scraping `jobs` (job name, loopback ports) every second, evaluating
    /// `rules` every second; waits until it is ready.
    pub fn start(jobs: &[(&str, Vec<u16>)], rules: &Path) -> Prometheus {
        let port = revoke_tests::procs::free_port();
        let dir = std::env::temp_dir().join(format!(
            "revoke-prometheus-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n",
        );
        config.push_str(&format!("rule_files:\n  - {}\n", rules.display()));
        config.push_str("scrape_configs:\n");
        for (job, ports) in jobs {
            let targets: Vec<String> = ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), &config).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1h")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start prometheus ({e}): install Debian's `prometheus` package (tests/run does)")
            });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut p = Prometheus {
            child,
            port,
            dir,
            rt,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = p.child.try_wait() {
                panic!("prometheus exited at start ({status}):\n{}", p.log());
            }
            if p.get_status("/-/ready") == Some(200) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready within 30 s:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn get_status(&self, path: &str) -> Option<u16> {
        // The request is built inside the runtime: reqwest's timeout needs its timer.
        self.rt
            .block_on(async { self.http.get(self.url(path)).send().await })
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// GET `path` with `query`: the JSON body's `data`, or the API's error.
    pub fn api(&self, path: &str, query: &[(&str, String)]) -> Result<Value, String> {
        let body: Value = self
            .rt
            .block_on(async {
                let resp = self.http.get(self.url(path)).query(query).send().await?;
                resp.json().await
            })
            .map_err(|e| format!("GET {path}: {e}"))?;
        if body["status"] != "success" {
            return Err(format!(
                "GET {path} {query:?}: {} {}",
                body["errorType"], body["error"]
            ));
        }
        Ok(body["data"].clone())
    }

    /// An instant query now.
    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        self.query_params(promql, None)
    }

    /// An instant query at `time` (Unix seconds).
    pub fn query_at(&self, promql: &str, time: f64) -> Result<Vec<Sample>, String> {
        self.query_params(promql, Some(time))
    }

    fn query_params(&self, promql: &str, time: Option<f64>) -> Result<Vec<Sample>, String> {
        let mut params = vec![("query", promql.to_string())];
        if let Some(t) = time {
            params.push(("time", format!("{t:.3}")));
        }
        let data = self.api("/api/v1/query", &params)?;
        match data["resultType"].as_str() {
            Some("vector") => Ok(data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| Sample {
                    labels: serde_json::from_value(s["metric"].clone()).unwrap_or_default(),
                    value: s["value"][1]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::NAN),
                })
                .collect()),
            Some("scalar") => Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: data["result"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            }]),
            other => Err(format!("{promql}: result type {other:?}")),
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The current time as Unix seconds.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
