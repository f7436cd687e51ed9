//! `revoke person keygen --id ID`: a new Ed25519 key pair for a person in `[[people]]`. The
//! private seed (32 random bytes from the operating system, as hex) goes to a file only its
//! owner can read (mode 0600, never overwritten), for `--key-file` / `REVOKE_PERSON_KEY_FILE`;
//! the public key is printed as the `[[people]]` lines to paste into the config. The seed is
//! never printed.

use super::error::CommandError;
use revoke_shared::signing::RecordSigner;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum PersonCommand {
    /// Make a new key pair for a person: the private key to a new file (mode 0600), the public
    /// key printed as the `[[people]]` entry to add to the config (rotating: move the old
    /// `public_key` to `previous_public_keys`).
    Keygen(KeygenArgs),
}

#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// The person's id, as `[[people]]` and `--by` name them.
    #[arg(long)]
    pub id: String,
    /// Where to write the private key; default `<id>.key` in the current directory. Refused if
    /// the file exists.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

pub fn command(cmd: &PersonCommand, emit: fn(&str)) -> Result<(), CommandError> {
    let PersonCommand::Keygen(args) = cmd;
    let id = args.id.trim();
    revoke_shared::contract::check_identifier("id", id)
        .map_err(|e| CommandError::usage(anyhow::anyhow!("--id: {e}")))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{id}.key")));
    let seed = random_seed().map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading 32 random bytes from /dev/urandom: {e}"
        ))
    })?;
    write_private(&out, &hex(&seed)).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "writing the private key to {}: {e} (it must not exist yet)",
            out.display()
        ))
    })?;
    let signer = RecordSigner::from_seed(id, &seed);
    emit(&entry(id, &signer, &out));
    Ok(())
}

/// The `[[people]]` entry for the config, and where the private key went.
fn entry(id: &str, signer: &RecordSigner, out: &Path) -> String {
    format!(
        "# private key written to {} (mode 0600): use it with --key-file or REVOKE_PERSON_KEY_FILE; never share it\n\
         # key id {}\n\
         [[people]]\n\
         id = \"{id}\"\n\
         name = \"...\"\n\
         contact = \"...\"\n\
         roles = [\"approver\"]\n\
         public_key = \"{}\"",
        out.display(),
        signer.key_id(),
        signer.public_key_text()
    )
}

fn random_seed() -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `path` (never overwriting) readable by its owner only, with `text` and a newline.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_private_seed_only_its_owner_reads_and_prints_the_public_key() {
        let dir = std::env::temp_dir().join(format!("revoke-keygen-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("alice.key");
        let args = KeygenArgs {
            id: "alice".into(),
            out: Some(out.clone()),
        };
        command(&PersonCommand::Keygen(args), |_| {}).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The file is a seed `--key-file` takes; the printed entry holds its public key.
        let signer =
            RecordSigner::from_env_or_file("alice", None, Some(out.to_str().unwrap())).unwrap();
        let text = entry("alice", &signer, &out);
        assert!(text.contains(&format!("public_key = \"{}\"", signer.public_key_text())));
        assert!(!text.contains(std::fs::read_to_string(&out).unwrap().trim()));
        // Never overwritten.
        let again = KeygenArgs {
            id: "alice".into(),
            out: Some(out.clone()),
        };
        assert!(command(&PersonCommand::Keygen(again), |_| {}).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
