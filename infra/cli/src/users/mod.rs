mod view;

use crate::output::say;
use crate::password_input::read_new_password;
use crate::target::Target;
use clap::Subcommand;
use xecure::audit::AuditDraft;
use xecure::domain::profile::{parse_email, parse_name};
use xecure::domain::{
    AuditEventKind, AuditOutcome, Password, PasswordHash, Timestamp, User, UserId, UserProfile,
    Username,
};
use xecure::oauth::account_control::AccountControl;
use xecure::ports::{OsRng, StoreError};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user who can log in. The password is prompted for (without echo) on a
    /// terminal, else read from standard input (one line): never an argument, which the
    /// process list and the shell history would show. NIST SP 800-63B rules: at least 8
    /// characters, not a commonly used one, not the username.
    Add {
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Change what the account says about the user (OpenID Connect standard claims, released
    /// to apps granted `profile` or `email`). A new email is unverified unless
    /// --email-verified true says otherwise.
    Set {
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
    },
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

/// The profile fields `user add` and `user set` take.
#[derive(clap::Args)]
pub struct ProfileArgs {
    /// Full name, as shown to apps granted `profile` (the `name` claim).
    #[arg(long)]
    name: Option<String>,
    /// Email address, released to apps granted `email`.
    #[arg(long)]
    email: Option<String>,
    /// Whether the address is known to belong to the user (`email_verified`).
    #[arg(long)]
    email_verified: Option<bool>,
}

impl ProfileArgs {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.email_verified.is_none()
    }

    /// `profile` with these changes, stamped `now`.
    fn apply(&self, profile: &UserProfile, now: Timestamp) -> Result<UserProfile, String> {
        let mut changed = profile.clone();
        if let Some(name) = &self.name {
            changed.name = Some(parse_name(name).map_err(|e| e.to_string())?);
        }
        if let Some(email) = &self.email {
            let email = parse_email(email).map_err(|e| e.to_string())?;
            if changed.email.as_deref() != Some(email.as_str()) {
                changed.email_verified = false;
            }
            changed.email = Some(email);
        }
        if let Some(verified) = self.email_verified {
            if verified && changed.email.is_none() {
                return Err("--email-verified true needs an email address".into());
            }
            changed.email_verified = verified;
        }
        if changed != *profile {
            changed.updated_at = Some(now);
        }
        Ok(changed)
    }
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
        UserCommand::Set { username, profile } => set_profile(target, &username, &profile).await,
        UserCommand::Add { username, profile } => {
            let username = Username::parse(&username).map_err(|e| e.to_string())?;
            let now = target.clock.now();
            // Checked before the password is asked for.
            let profile = profile.apply(&UserProfile::default(), now)?;
            let password = read_new_password(username.as_str())?;
            let user = User {
                profile,
                ..User::new(UserId::generate(&OsRng), username, hash(&password)?, now)
            };
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

/// `user set`: the profile replaced over the version read (security rule 17), audited.
async fn set_profile(target: &Target, username: &str, args: &ProfileArgs) -> Result<(), String> {
    if args.is_empty() {
        return Err("nothing to change: give --name, --email or --email-verified".into());
    }
    let user = target.existing_user(username).await?;
    let username = user.username.clone();
    let profile = args.apply(&user.profile, target.clock.now())?;
    if profile == user.profile {
        say!("user {username} already has that profile");
        return Ok(());
    }
    let changed = User {
        profile,
        version: user.version + 1,
        ..user
    };
    target
        .store
        .update_user(&changed, None)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => format!("user {username} changed meanwhile: run it again"),
            other => other.to_string(),
        })?;
    let draft = AuditDraft::new(AuditEventKind::UserChanged, AuditOutcome::Success)
        .user(&changed.id)
        .detail("by", "operator")
        .detail("changed", "profile");
    target.audit(draft).await;
    say!("updated the profile of {username}");
    Ok(())
}
