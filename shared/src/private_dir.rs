//! A local data directory holds the database (sessions, audit records with addresses and
//! browsers), the key-encryption key and the admin endpoint's token: it is created readable
//! by its owner only (0700), whoever creates it first.

use std::path::Path;

/// Creates `dir` and any missing parents, each new one 0700 on Unix. An existing directory
/// keeps the mode its owner gave it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_data_directory_is_its_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("data");
        create_private_dir(&dir).unwrap();
        for created in [root.path().join("a"), dir] {
            let mode = std::fs::metadata(&created).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", created.display());
        }
    }
}
