//! How the CLI reads a new password: on a terminal, a prompt with echo off, asked twice; from
//! a pipe (scripts), one line of standard input. Never an argument (the process list and the
//! shell history would show it). The result is checked by the NIST SP 800-63B rules of
//! `xecure::password_policy`.

use std::io::{BufRead, IsTerminal, Write};
use xecure::domain::Password;
use xecure::password_policy::check_new_password;

/// A new password for `username`, checked: the one a CLI beside a running server sent with
/// the command (`admin`), or read here.
pub fn read_new_password(username: &str) -> Result<Password, String> {
    let password = match crate::output::forwarded_input() {
        Some(sent) => sent.ok_or("the forwarded command came without a password")?,
        None => read_password_text()?,
    };
    let password = Password::new(password);
    check_new_password(&password, username).map_err(|refusal| refusal.to_string())?;
    Ok(password)
}

/// On a terminal, typed twice without echo; otherwise one line of standard input.
pub fn read_password_text() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = prompt_hidden("New password: ")?;
        let again = prompt_hidden("Type it again: ")?;
        if first != again {
            return Err("the two passwords differ; nothing changed".into());
        }
        Ok(first)
    } else {
        read_line()
    }
}

fn read_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Turns the terminal's echo back on when dropped, whatever happened in between.
struct EchoOff {
    saved: rustix::termios::Termios,
}

impl EchoOff {
    fn new() -> std::io::Result<Self> {
        let stdin = rustix::stdio::stdin();
        let saved = rustix::termios::tcgetattr(stdin)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        quiet
            .local_modes
            .insert(rustix::termios::LocalModes::ECHONL);
        rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &quiet)?;
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let stdin = rustix::stdio::stdin();
        let _ =
            rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &self.saved);
    }
}

fn prompt_hidden(prompt: &str) -> Result<String, String> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let _echo_off = EchoOff::new().map_err(|e| format!("cannot turn off terminal echo: {e}"))?;
    read_line()
}
