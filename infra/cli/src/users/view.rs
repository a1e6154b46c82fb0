//! `xecure user list|show|unlock`: what an operator looks at before acting, and the lockout
//! an operator may lift.

use crate::audit::rfc3339;
use crate::output::say;
use crate::target::Target;
use xecure::audit::AuditDraft;
use xecure::domain::{AuditEventKind, AuditOutcome, ThrottleKey, User};

fn state(user: &User) -> &'static str {
    if user.disabled {
        "disabled"
    } else {
        "enabled"
    }
}

pub async fn list(target: &Target) -> Result<(), String> {
    let users = target.store.list_users().await.map_err(|e| e.to_string())?;
    say!("{:<24}  {:<36}  {:<8}  created", "username", "id", "state");
    for user in &users {
        say!(
            "{:<24}  {:<36}  {:<8}  {}",
            user.username,
            user.id,
            state(user),
            rfc3339(user.created_at)
        );
    }
    Ok(())
}

pub async fn show(target: &Target, username: &str) -> Result<(), String> {
    let user = target.existing_user(username).await?;
    say!("username:  {}", user.username);
    say!("id:        {}", user.id);
    say!("state:     {}", state(&user));
    say!("created:   {}", rfc3339(user.created_at));
    say!("name:      {}", user.profile.name.as_deref().unwrap_or("-"));
    say!(
        "email:     {}",
        user.profile
            .email
            .as_deref()
            .map_or("-".to_owned(), |email| {
                let verified = if user.profile.email_verified {
                    "verified"
                } else {
                    "unverified"
                };
                format!("{email} ({verified})")
            })
    );
    say!(
        "signed out everywhere at: {}",
        user.credentials_valid_after.map_or("never".into(), rfc3339)
    );
    let now = target.clock.now();
    let account = ThrottleKey::Account(user.username.clone());
    let counters = target
        .store
        .login_throttles(&[account], now)
        .await
        .map_err(|e| e.to_string())?;
    match counters.first() {
        None => say!("login:     no recent failures"),
        Some(counter) => {
            let locked = match counter.locked_until {
                Some(until) if !until.has_passed(now) => {
                    format!("locked until {} (xecure user unlock)", rfc3339(until))
                }
                _ => "not locked".into(),
            };
            say!(
                "login:     {} failed attempts in the current window, {} lockouts; {locked}",
                counter.attempts,
                counter.lockouts
            );
        }
    }
    Ok(())
}

pub async fn unlock(target: &Target, username: &str, source: Option<String>) -> Result<(), String> {
    let user = target.existing_user(username).await?;
    let mut keys = vec![ThrottleKey::Account(user.username.clone())];
    if let Some(address) = &source {
        let address: std::net::IpAddr = address
            .parse()
            .map_err(|_| format!("--source {address} is not an IP address"))?;
        keys.push(ThrottleKey::AccountFromSource(
            user.username.clone(),
            address.to_string(),
        ));
    }
    let cleared = target
        .store
        .forget_login_attempts(&keys)
        .await
        .map_err(|e| e.to_string())?;
    let mut draft = AuditDraft::new(AuditEventKind::UserUnlocked, AuditOutcome::Success)
        .user(&user.id)
        .detail("counters", cleared.to_string());
    if let Some(address) = source {
        draft = draft.detail("source", address);
    }
    target.audit(draft).await;
    say!(
        "unlocked {}: {cleared} login counter(s) cleared",
        user.username
    );
    Ok(())
}
