use crate::target::Target;
use clap::Subcommand;
use std::io::BufRead;
use xecure::domain::{Password, PasswordHash, User, UserId, Username};
use xecure::ports::{Clock, OsRng, StoreError, SystemClock};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who can log in. The password is read from standard input (one line), so
    /// it never appears in the process list or the shell history.
    Add {
        #[arg(long)]
        username: String,
    },
    /// Set a new password (read from standard input, one line).
    Passwd { username: String },
    /// Let a user log in no more (their grants stay until revoked), or again.
    Disable {
        username: String,
        /// Enable instead.
        #[arg(long)]
        undo: bool,
    },
    /// Delete a user's account record.
    Remove { username: String },
}

/// Shortest password accepted (NIST SP 800-63B section 3.1.1.2 asks for at least 8).
const MIN_PASSWORD_CHARS: usize = 8;

fn read_password() -> Result<Password, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > xecure::oauth::login::MAX_PASSWORD_LEN {
        return Err("the password is too long".into());
    }
    Ok(Password::new(password))
}

async fn existing(target: &Target, username: &Username) -> Result<User, String> {
    target
        .store
        .get_user_by_username(username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {username}"))
}

pub async fn run(command: UserCommand, target: &Target) -> Result<(), String> {
    match command {
        UserCommand::Add { username } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let password = read_password()?;
            let user = User {
                id: UserId::generate(&OsRng),
                username,
                password_hash: PasswordHash::create(&password, &OsRng)
                    .map_err(|e| e.to_string())?,
                created_at: SystemClock.now(),
                disabled: false,
            };
            match target.store.create_user(&user).await {
                Ok(()) => {
                    println!(
                        "created user {} ({}) in {}",
                        user.username, user.id, target.description
                    );
                    Ok(())
                }
                Err(StoreError::AlreadyExists(_)) => {
                    Err(format!("user {} already exists", user.username))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        UserCommand::Passwd { username } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let password = read_password()?;
            let mut user = existing(target, &username).await?;
            user.password_hash =
                PasswordHash::create(&password, &OsRng).map_err(|e| e.to_string())?;
            target
                .store
                .update_user(&user)
                .await
                .map_err(|e| e.to_string())?;
            println!("changed the password of {username}");
            Ok(())
        }
        UserCommand::Disable { username, undo } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let mut user = existing(target, &username).await?;
            user.disabled = !undo;
            target
                .store
                .update_user(&user)
                .await
                .map_err(|e| e.to_string())?;
            let state = if undo { "enabled" } else { "disabled" };
            println!("{state} user {username}");
            Ok(())
        }
        UserCommand::Remove { username } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            match target.store.delete_user(&username).await {
                Ok(true) => {
                    println!("removed user {username}");
                    Ok(())
                }
                Ok(false) => Err(format!("no user {username}")),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}
