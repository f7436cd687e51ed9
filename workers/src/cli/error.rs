//! The one error every command returns: bad usage or configuration (exit code 2), the job
//! itself failed (exit code 1), or it ran and found what its own exit code reports (`revoke
//! verify`). The command line prints it as `revoke: <message>`.

use std::process::ExitCode;

/// Why a command failed, and so its exit code.
#[derive(Debug)]
pub enum CommandError {
    /// Bad arguments or configuration: nothing was done (exit code 2).
    Usage(anyhow::Error),
    /// The job failed: a broker, a file, a case refused (exit code 1).
    Job(anyhow::Error),
    /// The job ran, and what it found is the failure, with its own exit code (`revoke verify`:
    /// 3 access returned, 4 something could not be read).
    Found(u8, anyhow::Error),
}

impl CommandError {
    pub fn usage(e: impl Into<anyhow::Error>) -> CommandError {
        CommandError::Usage(e.into())
    }

    pub fn job(e: impl Into<anyhow::Error>) -> CommandError {
        CommandError::Job(e.into())
    }

    pub fn is_usage(&self) -> bool {
        matches!(self, CommandError::Usage(_))
    }

    /// 2 for bad usage or configuration, 1 for a failed job, a finding's own code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CommandError::Usage(_) => 2,
            CommandError::Job(_) => 1,
            CommandError::Found(code, _) => *code,
        })
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            CommandError::Usage(e) | CommandError::Job(e) | CommandError::Found(_, e) => e,
        }
    }
}

/// The error and its causes, skipping a cause whose text the previous message already includes.
impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        for cause in self.error().chain() {
            let text = cause.to_string();
            if !out.contains(&text) {
                if !out.is_empty() {
                    out.push_str(": ");
                }
                out.push_str(&text);
            }
        }
        f.write_str(&out)
    }
}

/// The message already carries its causes (see `Display`), so none is chained below it.
impl std::error::Error for CommandError {}
