//! The `mock-broker` binary: everything is in the library (see [`mock_broker::main`]).

fn main() -> std::process::ExitCode {
    mock_broker::main()
}
