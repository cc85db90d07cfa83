//! One composer per message kind: the catalogue's texts, filled and put in order.

use super::{Block, Catalogue, Composed};

/// What an invitation says.
#[derive(Debug, Clone, Copy)]
pub struct InvitationText<'a> {
    /// The account's name.
    pub account: &'a str,
    /// The inviter's name, when a person invited.
    pub inviter: Option<&'a str>,
    /// The acceptance link.
    pub link: &'a str,
    /// Days until it expires.
    pub days: i64,
    /// The inviter's own words (`MESSAGE_TEXT`), quoted below the server's.
    pub note: Option<&'a str>,
}

/// An invitation.
pub fn invitation(c: &Catalogue, t: InvitationText<'_>) -> Composed {
    let days = t.days.to_string();
    let inviter = t.inviter.unwrap_or_default();
    let args = [("account", t.account), ("inviter", inviter), ("days", days.as_str()), ("link", t.link)];
    let lead = if t.inviter.is_some() { "invitation.lead" } else { "invitation.lead_anonymous" };
    let mut blocks = vec![
        Block::Para(c.fill(lead, &args)),
        Block::Para(c.fill("invitation.action", &args)),
        Block::Link(t.link.to_string()),
    ];
    if let Some(note) = t.note.map(str::trim).filter(|n| !n.is_empty()) {
        let by = if t.inviter.is_some() { inviter } else { t.account };
        blocks.push(Block::Para(c.fill("invitation.note", &[("inviter", by)])));
        blocks.push(Block::Quote(note.to_string()));
    }
    Composed { subject: c.fill("invitation.subject", &args), blocks, sms: c.fill("invitation.sms", &args) }
}

/// A generated password for a directly registered user.
pub fn generated_password(c: &Catalogue, account: &str, login: &str, password: &str, link: &str) -> Composed {
    let args = [("account", account), ("login", login), ("password", password), ("link", link)];
    Composed {
        subject: c.fill("generated_password.subject", &args),
        blocks: vec![
            Block::Para(c.fill("generated_password.lead", &args)),
            Block::Para(c.fill("generated_password.login", &args)),
            Block::Para(c.fill("generated_password.password", &args)),
            Block::Para(c.fill("generated_password.action", &args)),
            Block::Link(link.to_string()),
        ],
        sms: c.fill("generated_password.sms", &args),
    }
}

/// What a confirmation code confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFor {
    /// A new contact address.
    Contact,
    /// A new login.
    Login,
    /// A registration's address.
    Registration,
    /// A password reset.
    Reset,
}

/// A confirmation or reset code.
pub fn code(c: &Catalogue, what: CodeFor, code: &str, minutes: i64) -> Composed {
    let minutes = minutes.to_string();
    let args = [("code", code), ("minutes", minutes.as_str())];
    let (subject, lead, sms) = match what {
        CodeFor::Contact => {
            ("confirmation_code.subject", "confirmation_code.contact", "confirmation_code.sms")
        }
        CodeFor::Login => ("confirmation_code.subject", "confirmation_code.login", "confirmation_code.sms"),
        CodeFor::Registration => {
            ("confirmation_code.subject", "confirmation_code.registration", "confirmation_code.sms")
        }
        CodeFor::Reset => ("reset_code.subject", "reset_code.lead", "reset_code.sms"),
    };
    Composed {
        subject: c.fill(subject, &args),
        blocks: vec![
            Block::Para(c.fill(lead, &args)),
            Block::Code(code.to_string()),
            Block::Para(c.fill("confirmation_code.expiry", &args)),
        ],
        sms: c.fill(sms, &args),
    }
}

/// How a registration through the account's link went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Received, waiting for an administrator.
    Received,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// A note on a registration; `login_link` is shown with an approval.
pub fn registration(c: &Catalogue, how: Registration, account: &str, login_link: &str) -> Composed {
    let args = [("account", account)];
    let (subject, lead) = match how {
        Registration::Received => ("registration_received.subject", "registration_received.lead"),
        Registration::Approved => ("registration_approved.subject", "registration_approved.lead"),
        Registration::Rejected => ("registration_rejected.subject", "registration_rejected.lead"),
    };
    let lead = c.fill(lead, &args);
    let mut blocks = vec![Block::Para(lead.clone())];
    let mut sms = lead;
    if how == Registration::Approved {
        blocks.push(Block::Para(c.fill("registration_approved.action", &args)));
        blocks.push(Block::Link(login_link.to_string()));
        sms = format!("{sms} {login_link}");
    }
    Composed { subject: c.fill(subject, &args), blocks, sms: c.fill("notice.sms", &[("text", &sms)]) }
}

/// What changed on a network profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityChange {
    /// The login (the message goes to the old one).
    Login,
    /// The password.
    Password,
}

/// A security notice with the link to reset the password.
pub fn security_change(c: &Catalogue, what: SecurityChange, login: &str, reset_link: &str) -> Composed {
    let args = [("login", login)];
    let (subject, lead) = match what {
        SecurityChange::Login => ("login_changed.subject", "login_changed.lead"),
        SecurityChange::Password => ("password_changed.subject", "password_changed.lead"),
    };
    let lead = c.fill(lead, &args);
    let not_you = c.text("security.not_you");
    Composed {
        subject: c.fill(subject, &args),
        blocks: vec![
            Block::Para(lead.clone()),
            Block::Para(not_you.to_string()),
            Block::Link(reset_link.to_string()),
        ],
        sms: c.fill("notice.sms", &[("text", &format!("{lead} {not_you} {reset_link}"))]),
    }
}
