//! Arbitrary text as `template.yaml` for the local gateway: read or rejected
//! with an error; every API of a template that reads routes any path without panicking.
#![no_main]

use authz_gateway::ApiSpec;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, path) = text.split_once("\n---path\n").unwrap_or((text, "/notes"));
    for spec in ApiSpec::from_template(template, &BTreeMap::new()).into_iter().flatten() {
        for method in ["GET", "POST", "ANY"] {
            let _ = spec.route(method, path);
        }
        let _ = spec.identity_header();
    }
});
