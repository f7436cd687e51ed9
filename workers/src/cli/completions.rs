//! `revoke completions <shell>` and `revoke man [command]`: generated from the clap definitions
//! themselves, so they never list a flag the binary lacks. Neither reads the config.

use super::error::CommandError;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// A command's own page (`revoke man case` is revoke-case(1)); default: revoke(1).
    pub command: Option<String>,
}

/// The completion script for `shell` (bash, zsh, fish, elvish, powershell).
pub fn completions(args: &CompletionsArgs) -> String {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "revoke", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The manual page (roff) of revoke or of one of its commands.
pub fn man(args: &ManArgs) -> Result<String, CommandError> {
    let mut root = super::Cli::command();
    root.build();
    let page = match &args.command {
        None => root,
        Some(name) => {
            // Built, a command knows its display name (revoke-case) and bin name (revoke case),
            // which the page's title and SYNOPSIS use.
            root.find_subcommand(name).cloned().ok_or_else(|| {
                CommandError::usage(anyhow::anyhow!(
                    "no command {name:?}: `revoke --help` lists them"
                ))
            })?
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(CommandError::job)?;
    Ok(ascii_roff(&String::from_utf8_lossy(&out)))
}

/// roff input is ASCII: any other character (the help texts' dashes and quotes) becomes its
/// `\[uXXXX]` escape, which groff and mandoc render without a preprocessor or a warning.
fn ascii_roff(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// Prints the completion script on stdout.
pub fn print_completions(args: &CompletionsArgs, emit: fn(&str)) -> Result<(), CommandError> {
    emit(completions(args).trim_end());
    Ok(())
}

/// Prints the manual page on stdout.
pub fn print_man(args: &ManArgs, emit: fn(&str)) -> Result<(), CommandError> {
    emit(man(args)?.trim_end());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_is_ascii_roff_with_every_command() {
        let page = man(&ManArgs { command: None }).unwrap();
        assert!(page.is_ascii());
        assert!(page.contains(".TH revoke 1"), "{page}");
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH VERSION",
        ] {
            assert!(page.contains(section), "{section} missing");
        }
        for command in [
            "revoke\\-case(1)",
            "revoke\\-completions(1)",
            "revoke\\-man(1)",
        ] {
            assert!(page.contains(command), "{command} missing");
        }
        assert_eq!(ascii_roff("a \u{2014} b"), "a \\[u2014] b");
        let case = man(&ManArgs {
            command: Some("case".into()),
        })
        .unwrap();
        assert!(case.contains(".TH revoke-case 1"), "{case}");
        assert!(man(&ManArgs {
            command: Some("nope".into())
        })
        .unwrap_err()
        .is_usage());
    }

    #[test]
    fn completions_for_every_shell_name_the_commands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = completions(&CompletionsArgs { shell });
            for word in ["case", "report", "completions", "timeout"] {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
    }
}
