mod view;

use crate::output::say;
use crate::password_input::read_new_password;
use crate::target::Target;
use clap::Subcommand;
use xecure::audit::AuditDraft;
use xecure::domain::{
    AuditEventKind, AuditOutcome, Password, PasswordHash, User, UserId, Username,
};
use xecure::oauth::account_control::AccountControl;
use xecure::ports::{OsRng, StoreError};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who can log in. The password is prompted for (without echo) on a
    /// terminal, else read from standard input (one line): never an argument, which the
    /// process list and the shell history would show. NIST SP 800-63B rules: at least 8
    /// characters, not a commonly used one, not the username.
    Add { username: String },
    /// Set a new password (prompted on a terminal, else one line of standard input; the
    /// rules of `add`). Every session, code and
    /// refresh token of the user ends; their access tokens stop at the gateway within 60 s.
    Passwd { username: String },
    /// Let a user log in no more, and end every session, code and refresh token of theirs
    /// (access tokens stop at the gateway within 60 s); or, with --undo, let them log in again
    /// (what the disable ended stays ended). Their consents stay.
    Disable {
        username: String,
        /// Enable instead.
        #[arg(long)]
        undo: bool,
    },
    /// Sign the user out everywhere: every session, code and refresh token ends, access
    /// tokens stop at the gateway within 60 s. They can log in again at once.
    SignOut { username: String },
    /// Delete a user's account: everything `disable` ends, and the username is free again.
    Remove { username: String },
    /// Every user: username, id, state, when created.
    List,
    /// One user: state, when created and last cut, and the login counters of the account.
    Show { username: String },
    /// Clear the account's failed-login counter and lockout (a new password does not: the
    /// lockout is about the guessing, not the password); with --source, also the counter of
    /// that address on this account.
    Unlock {
        username: String,
        #[arg(long)]
        source: Option<String>,
    },
}

/// What every cutting control ends, said the same way each time.
const CUT: &str = "its sessions, codes and refresh tokens ended now; its access tokens stop at the gateway within 60 s";

fn hash(password: &Password) -> Result<PasswordHash, String> {
    PasswordHash::create(password, &OsRng).map_err(|e| e.to_string())
}

async fn control(target: &Target, username: &str, control: AccountControl) -> Result<User, String> {
    let username = Username::parse(username).map_err(|e| e.to_string())?;
    let auditor = target.auditor();
    let context = target.context().await;
    target
        .revoker(&auditor, &context)
        .control_user(&username, &control)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => format!("no user {username}"),
            other => other.to_string(),
        })
}

pub async fn run(command: UserCommand, target: &Target) -> Result<(), String> {
    match command {
        UserCommand::List => view::list(target).await,
        UserCommand::Show { username } => view::show(target, &username).await,
        UserCommand::Unlock { username, source } => view::unlock(target, &username, source).await,
        UserCommand::Add { username } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let password = read_new_password(username.as_str())?;
            let user = User::new(
                UserId::generate(&OsRng),
                username,
                hash(&password)?,
                target.clock.now(),
            );
            match target.store.create_user(&user).await {
                Ok(()) => {
                    let draft = AuditDraft::new(AuditEventKind::UserCreated, AuditOutcome::Success)
                        .user(&user.id)
                        .detail("by", "operator")
                        .detail("username", user.username.to_string());
                    target.audit(draft).await;
                    say!(
                        "created user {} ({}) in {}",
                        user.username,
                        user.id,
                        target.description
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
            let password = read_new_password(&username)?;
            let user = control(
                target,
                &username,
                AccountControl::SetPassword(hash(&password)?),
            )
            .await?;
            say!("changed the password of {}; {CUT}", user.username);
            Ok(())
        }
        UserCommand::Disable {
            username,
            undo: false,
        } => {
            let user = control(target, &username, AccountControl::Disable).await?;
            say!("disabled user {}; {CUT}", user.username);
            Ok(())
        }
        UserCommand::Disable {
            username,
            undo: true,
        } => {
            let user = control(target, &username, AccountControl::Enable).await?;
            say!(
                "enabled user {}; what the disable ended stays ended",
                user.username
            );
            Ok(())
        }
        UserCommand::SignOut { username } => {
            let user = control(target, &username, AccountControl::SignOutEverywhere).await?;
            say!("signed {} out everywhere; {CUT}", user.username);
            Ok(())
        }
        UserCommand::Remove { username } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let auditor = target.auditor();
            let context = target.context().await;
            let removed = target
                .revoker(&auditor, &context)
                .remove_user(&username)
                .await
                .map_err(|e| e.to_string())?;
            if !removed {
                return Err(format!("no user {username}"));
            }
            say!("removed user {username}; {CUT}");
            Ok(())
        }
    }
}
