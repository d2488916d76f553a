//! The verified install of pinned brokers, from [`relay_install`] (the `install` feature): the same
//! items, and [`install_broker`] answering with a [`ClientError`].

use std::path::PathBuf;

pub use relay_install::*;

use crate::errors::ClientError;

/// Installs a pinned broker version (e.g. [`DEFAULT_BROKER_VERSION`]) for this platform through
/// the user's `npm` into the default cache, or reuses the verified cached copy, and returns the
/// executable: [`Installer::new`]`.install(version)` as a [`ClientError`].
pub async fn install_broker(version: &str) -> Result<PathBuf, ClientError> {
    Ok(Installer::new().install(version).await?.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_errors_convert_to_client_errors() {
        let error = ClientError::from(InstallError::NoCacheDir);
        assert!(matches!(
            error,
            ClientError::Install(InstallError::NoCacheDir)
        ));
        assert!(error.to_string().starts_with("no cache directory"));
    }
}
