//! Arbitrary bytes as a policy module: rejected with an error, never a panic
//! or an abort of the host.
#![no_main]

use authz_engine::{Engine, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn engine() -> &'static Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(Limits::default()).expect("engine"))
}

fuzz_target!(|data: &[u8]| {
    let _ = engine().load(data, "{}", None);
});
