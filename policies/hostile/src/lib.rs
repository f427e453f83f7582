//! A deliberately hostile policy, used only as a test fixture.
//!
//! Its config picks the misbehaviour (`{"mode": "loop"}`); each one must make the
//! host fail closed within its budget and leave it serving the next request.

use authz_policy::{Decision, Grant, Policy, PolicyError, Request};
use serde::Deserialize;
use std::hint::black_box;

/// The policy.
pub struct Hostile;

/// What to do on `evaluate`.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, tag = "mode")]
pub enum Config {
    /// Allow `GET /notes` as `well-behaved`: the control case.
    Ok,
    /// Spin forever.
    Loop,
    /// Spin for `millis` milliseconds, then allow.
    Slow { millis: u64 },
    /// Allocate and touch memory until something stops it.
    Alloc,
    /// Allocate and touch `bytes` bytes, then allow.
    AllocBytes { bytes: usize },
    /// Allocate and touch `block` bytes `rounds` times, freeing each block
    /// once the next is made, then allow: far more in total than the memory
    /// cap, never more than two blocks at once.
    Churn { block: usize, rounds: usize },
    /// Recurse without bound.
    Recurse,
    /// Panic (writes to stderr, then traps).
    Panic,
    /// Trap only when the request carries an `x-trap` header.
    TrapIfHeader,
    /// Return a policy error.
    Error,
    /// Allow with a context of `entries` keys of `value_len` bytes each.
    HugeContext { entries: usize, value_len: usize },
    /// Allow with a principal of `len` bytes.
    HugePrincipal { len: usize },
    /// Allow with `count` grants.
    ManyGrants { count: usize },
    /// Allow with a grant that is not a method/path pattern.
    BadGrant { method: String, path: String },
    /// Allow with no grants at all.
    AllowWithoutGrants,
    /// Allow with a principal that is not UTF-8: an ill-formed answer that
    /// only a guest bypassing Rust's string checks can send.
    InvalidUtf8,
    /// Try the filesystem, environment and network; allow (with what leaked
    /// in the context) if any of it works, deny otherwise.
    Escape { port: u16 },
    /// Allow with the request as the policy saw it in the context, one entry
    /// per field: what the host lowered, read back.
    Echo,
    /// Remember across decisions if the host lets it: count decisions in a
    /// static and keep `bytes` more bytes on the heap each time; allow with
    /// both in the context. A fresh instance per decision always reports 1
    /// and `bytes`.
    Remember { bytes: usize },
}

fn echo(r: &Request) -> Decision {
    let pairs =
        |pairs: &[(String, String)]| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let arn = &r.method_arn;
    let fields = [
        ("kind", format!("{:?}", r.kind)),
        ("identity", format!("{:?}", r.identity)),
        ("partition", arn.partition.clone()),
        ("region", arn.region.clone()),
        ("account-id", arn.account_id.clone()),
        ("api-id", arn.api_id.clone()),
        ("stage", arn.stage.clone()),
        ("method", arn.method.clone()),
        ("path", arn.path.clone()),
        ("headers", pairs(&r.headers)),
        ("query", pairs(&r.query)),
        ("path-parameters", pairs(&r.path_parameters)),
        ("stage-variables", pairs(&r.stage_variables)),
        ("source-ip", format!("{:?}", r.source_ip)),
        ("user-agent", format!("{:?}", r.user_agent)),
        ("request-id", format!("{:?}", r.request_id)),
        ("now-ms", r.now_ms.to_string()),
    ];
    fields.into_iter().fold(allow(), |d, (k, v)| d.with_context(k, v))
}

fn allow() -> Decision {
    Decision::allow("well-behaved", vec![Grant::new("GET", "/notes")])
}

#[allow(unconditional_recursion, reason = "unbounded recursion is the point")]
fn recurse(depth: u64, pad: [u8; 512]) -> u64 {
    let pad = black_box(pad);
    recurse(depth + 1, pad) + u64::from(pad[(depth % 512) as usize])
}

fn spin_until(deadline: std::time::Instant) {
    while std::time::Instant::now() < deadline {
        black_box(0);
    }
}

impl Policy for Hostile {
    type Config = Config;

    fn decide(config: &Config, request: &Request) -> Result<Decision, PolicyError> {
        Ok(match config {
            Config::Ok => allow(),
            Config::Loop => loop {
                black_box(0);
            },
            Config::Slow { millis } => {
                spin_until(std::time::Instant::now() + std::time::Duration::from_millis(*millis));
                allow()
            }
            Config::Alloc => {
                let mut chunks: Vec<Vec<u8>> = Vec::new();
                loop {
                    chunks.push(vec![1u8; 1 << 20]);
                    black_box(&chunks);
                }
            }
            Config::AllocBytes { bytes } => {
                let block = vec![1u8; *bytes];
                black_box(&block);
                allow()
            }
            Config::Churn { block, rounds } => {
                // Each block is freed after the next one is made: not the
                // latest allocation, so the arena cannot take it back.
                let mut previous = Vec::new();
                for _ in 0..*rounds {
                    let mut bytes = vec![0u8; (*block).max(1)];
                    // SAFETY: the block is at least one byte long. Volatile, so
                    // that the optimizer cannot drop the allocation.
                    #[allow(unsafe_code, reason = "a volatile write keeps the allocation")]
                    unsafe {
                        std::ptr::write_volatile(bytes.as_mut_ptr(), 1);
                    }
                    previous = black_box(bytes);
                }
                drop(previous);
                allow()
            }
            Config::Recurse => {
                black_box(recurse(0, [1; 512]));
                allow()
            }
            // Echoes the identity, as a careless policy might: the host must redact it.
            Config::Panic => panic!("hostile policy panicked on purpose (identity {:?})", request.identity),
            Config::TrapIfHeader => {
                if request.header("x-trap").is_some() {
                    std::process::abort();
                }
                allow()
            }
            Config::Error => return Err(PolicyError::Internal("hostile policy error".to_owned())),
            Config::HugeContext { entries, value_len } => {
                let mut d = allow();
                for i in 0..*entries {
                    d = d.with_context(format!("key{i}"), "v".repeat(*value_len));
                }
                d
            }
            Config::HugePrincipal { len } => Decision::allow("p".repeat(*len), allow().grants),
            Config::ManyGrants { count } => {
                Decision::allow("well-behaved", (0..*count).map(|i| Grant::new("GET", format!("/r{i}"))).collect())
            }
            Config::BadGrant { method, path } => {
                Decision::allow("well-behaved", vec![Grant::new(method.clone(), path.clone())])
            }
            Config::AllowWithoutGrants => Decision::allow("well-behaved", Vec::new()),
            Config::InvalidUtf8 => {
                // SAFETY: not sound, on purpose: the bytes are never read as a
                // str here, only lowered as they are for the host to refuse.
                #[allow(unsafe_code, reason = "an ill-formed string is the point")]
                let principal = unsafe { String::from_utf8_unchecked(vec![b'u', 0xff, 0xfe, b'1']) };
                Decision::allow(principal, allow().grants)
            }
            Config::Escape { port } => escape(*port),
            Config::Echo => echo(request),
            Config::Remember { bytes } => {
                static DECISIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                static KEPT: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
                let decisions = DECISIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
                kept.extend(std::iter::repeat_n(7u8, *bytes));
                allow().with_context("decisions", f64::from(decisions)).with_context("kept_bytes", kept.len() as f64)
            }
        })
    }
}

fn escape(port: u16) -> Decision {
    let mut leaks = Vec::new();
    for path in ["/etc/passwd", "/proc/self/environ", ".", "/"] {
        if let Ok(data) = std::fs::read(path) {
            leaks.push(format!("read {path}: {} bytes", data.len()));
        }
        if std::fs::read_dir(path).is_ok() {
            leaks.push(format!("listed {path}"));
        }
    }
    if std::fs::write("/tmp/hostile-policy-was-here", b"x").is_ok() {
        leaks.push("wrote /tmp".to_owned());
    }
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    if !vars.is_empty() {
        leaks.push(format!("env: {}", vars.join(",")));
    }
    if std::env::args().len() > 0 {
        leaks.push("args".to_owned());
    }
    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        leaks.push(format!("connected to 127.0.0.1:{port}"));
    }
    if std::net::UdpSocket::bind("127.0.0.1:0").is_ok() {
        leaks.push("bound a udp socket".to_owned());
    }
    if std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port)).is_ok() {
        leaks.push("resolved a name".to_owned());
    }
    if leaks.is_empty() {
        Decision::deny("sandboxed")
    } else {
        let mut d = allow();
        d.principal_id = "escaped".to_owned();
        d.with_context("leaks", leaks.join("; "))
    }
}

authz_policy::export_policy!(Hostile);
