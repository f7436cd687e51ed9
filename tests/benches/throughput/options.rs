//! The command line: leavers, repeats, which pipeline.

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) leavers: Option<usize>,
    pub(crate) repeat: usize,
    pub(crate) only: Option<String>,
    /// Experiments on revoke only (the baseline keeps its settings): `consumer.max_in_flight`
    /// and extra librdkafka properties for every revoke client.
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) properties: Vec<(String, String)>,
    /// Print revoke's per-group progress every 250 ms (stderr).
    pub(crate) progress: bool,
    /// Evidence keys as deployed: the verifier seals and signs every case version, the workers
    /// sign their reports (`--signed`).
    pub(crate) signed: bool,
    /// `verifier.fold_ms` for revoke (`--fold-ms`; default: the config's).
    pub(crate) fold_ms: Option<u64>,
}

pub(crate) fn parse_args() -> Options {
    let mut o = Options {
        leavers: None,
        repeat: 1,
        only: None,
        max_in_flight: None,
        properties: Vec::new(),
        progress: false,
        signed: false,
        fold_ms: None,
    };
    let mut args = std::env::args().skip(1);
    let num = |what: &str, v: Option<String>| -> usize {
        let v = v.unwrap_or_else(|| die(&format!("{what} needs a value")));
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| die(&format!("{what}: not a number: {v}")))
    };
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        match flag.as_str() {
            "--leavers" => o.leavers = Some(num("--leavers", inline.or_else(|| args.next()))),
            "--repeat" => o.repeat = num("--repeat", inline.or_else(|| args.next())).max(1),
            "--only" => {
                let v = inline.or_else(|| args.next()).unwrap_or_default();
                if v != "baseline" && v != "revoke" {
                    die("--only takes `baseline` or `revoke`");
                }
                o.only = Some(v);
            }
            "--max-in-flight" => {
                o.max_in_flight =
                    Some(num("--max-in-flight", inline.or_else(|| args.next())).max(1))
            }
            "--property" => {
                let v = inline.or_else(|| args.next()).unwrap_or_default();
                let (k, v) = v
                    .split_once('=')
                    .unwrap_or_else(|| die("--property takes KEY=VALUE (a librdkafka property)"));
                o.properties.push((k.to_string(), v.to_string()));
            }
            "--progress" => o.progress = true,
            "--signed" => o.signed = true,
            "--fold-ms" => {
                o.fold_ms = Some(num("--fold-ms", inline.or_else(|| args.next())) as u64)
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: throughput [--leavers N] [--repeat K] [--only baseline|revoke] [--progress]\n\
                     \x20                 [--signed] [--fold-ms MS] [--max-in-flight N] [--property KEY=VALUE]...   (these change revoke only)\n\
                     env: BENCH_LEAVERS, REVOKE_TEST_KAFKA (a real broker; else the embedded one), BENCH_PROGRESS=1"
                );
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; ignore it and anything else not ours.
            _ => {}
        }
    }
    o.progress |= std::env::var("BENCH_PROGRESS").is_ok_and(|v| !v.is_empty() && v != "0");
    if o.leavers.is_none() {
        if let Ok(v) = std::env::var("BENCH_LEAVERS") {
            o.leavers = Some(num("BENCH_LEAVERS", Some(v)));
        }
    }
    o
}

pub(crate) fn die(msg: &str) -> ! {
    eprintln!("throughput: {msg}");
    std::process::exit(2);
}
