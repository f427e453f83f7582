//! Cold start with Cedar: a new process parses the policy set and entities,
//! decides the allowed event once, prints the response and exits (timed by
//! hyperfine).
fn main() -> std::process::ExitCode {
    let decided = authz_alternatives::cedar::CedarAuthorizer::new()
        .map_err(authz_alternatives::BadEvent)
        .and_then(|cedar| cedar.authorize(authz_alternatives::events::ALLOW));
    match decided {
        Ok(response) => {
            println!("{}", String::from_utf8_lossy(&response));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e:?}");
            std::process::ExitCode::FAILURE
        }
    }
}
