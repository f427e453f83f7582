//! Cold start of the hard-coded native authorizer: a new process decides the
//! allowed event once, prints the response and exits (timed by hyperfine).
fn main() -> std::process::ExitCode {
    match authz_alternatives::native::authorize(authz_alternatives::events::ALLOW) {
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
