//! Recipient resolution: from an event, its audience, the settings at every scope and the system switches,
//! to the set of (channel, target) pairs to deliver to. Pure; the service layer gathers the inputs.
//!
//! As DefectDojo, minus its bugs: fan-out events reach the system targets plus every active user who may
//! view the product and asks for a channel; directed events reach only the named users (with the system
//! settings merged in for the override list); a channel is used only when the system enables it; and each
//! (channel, target) appears once, so a superuser never gets the same message twice.

use std::collections::BTreeSet;

use super::NotificationEvent;

use crate::domain::{UserId, WebhookId};

/// A way of notifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// In-app alert; always enabled.
    Alert,
    Mail,
    Slack,
    MsTeams,
    Webhook,
    /// PagerDuty (Events API v2): system scope only; pages on SLA breaches and resolves on their end.
    Pager,
}

impl Channel {
    pub const ALL: [Channel; 6] = [Self::Alert, Self::Mail, Self::Slack, Self::MsTeams, Self::Webhook, Self::Pager];

    /// The stored form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "ALERT",
            Self::Mail => "MAIL",
            Self::Slack => "SLACK",
            Self::MsTeams => "MSTEAMS",
            Self::Webhook => "WEBHOOK",
            Self::Pager => "PAGER",
        }
    }

    /// Whether a message sent twice (after a crash, before its outcome was stored) does no harm: webhooks
    /// carry the same `X-Slawatch-Delivery` on every attempt for the receiver to deduplicate, PagerDuty
    /// merges events by their dedup key, an in-app alert is stored once per notification and user. A
    /// repeated mail, Slack or Teams message is seen twice.
    #[must_use]
    pub fn repeat_is_harmless(self) -> bool {
        matches!(self, Self::Webhook | Self::Pager | Self::Alert)
    }
}

impl std::str::FromStr for Channel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("unknown channel {text:?}"))
    }
}

/// Where one delivery goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A user's in-app alerts.
    User(UserId),
    /// An email address.
    Email(String),
    /// A Slack channel, e.g. `#security`.
    SlackChannel(String),
    /// A user's Slack direct messages, found by their Slack email.
    SlackUser(UserId),
    /// The system's Microsoft Teams workflow.
    MsTeams,
    /// A configured webhook endpoint.
    Webhook(WebhookId),
    /// The system's PagerDuty service.
    Pager,
}

impl std::fmt::Display for Target {
    /// The stored form: `user:5`, `email:a@b.am`, `slack_channel:#security`, `slack_user:5`, `msteams`,
    /// `webhook:7`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Email(address) => write!(f, "email:{address}"),
            Self::SlackChannel(name) => write!(f, "slack_channel:{name}"),
            Self::SlackUser(id) => write!(f, "slack_user:{id}"),
            Self::MsTeams => f.write_str("msteams"),
            Self::Pager => f.write_str("pager"),
            Self::Webhook(id) => write!(f, "webhook:{id}"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid delivery target {text:?}");
        let id = |value: &str| value.parse::<i32>().map_err(|_| bad());
        match text.split_once(':') {
            Some(("user", value)) => Ok(Self::User(UserId::new(id(value)?))),
            Some(("email", value)) => Ok(Self::Email(value.to_owned())),
            Some(("slack_channel", value)) => Ok(Self::SlackChannel(value.to_owned())),
            Some(("slack_user", value)) => Ok(Self::SlackUser(UserId::new(id(value)?))),
            Some(("webhook", value)) => Ok(Self::Webhook(WebhookId::new(id(value)?))),

            None if text == "msteams" => Ok(Self::MsTeams),
            None if text == "pager" => Ok(Self::Pager),
            _ => Err(bad()),
        }
    }
}

/// The settings of one scope for one event: which channels, and (system and product scope) extra targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSetting {
    pub channels: BTreeSet<Channel>,
    pub emails: Vec<String>,
    pub slack_channels: Vec<String>,
    pub webhook_ids: Vec<WebhookId>,
}

/// The system switches and system-wide targets.
#[derive(Debug, Clone, Default)]
pub struct SystemSwitches {
    pub enable_mail: bool,
    pub enable_slack: bool,
    pub enable_msteams: bool,
    pub enable_webhooks: bool,
    /// The system Slack channel, for system sends.
    pub slack_channel: Option<String>,
    /// Whether a Teams workflow URL is configured.
    pub msteams_configured: bool,
    pub enable_pager: bool,
    /// Whether a PagerDuty integration key is configured.
    pub pager_configured: bool,
    /// System mail recipients, for system sends.
    pub mail_recipients: Vec<String>,
    /// Events for which system settings override a user's opt-out (directed events).
    pub system_level_trump: Vec<NotificationEvent>,
}

impl SystemSwitches {
    /// Whether the system lets a channel be used at all.
    #[must_use]
    pub fn enabled(&self, channel: Channel) -> bool {
        match channel {
            Channel::Alert => true,
            Channel::Mail => self.enable_mail,
            Channel::Slack => self.enable_slack,
            Channel::MsTeams => self.enable_msteams && self.msteams_configured,
            Channel::Pager => self.enable_pager && self.pager_configured,
            Channel::Webhook => self.enable_webhooks,
        }
    }
}

/// A user as far as resolution cares.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub user_id: UserId,
    pub email: String,
    pub is_superuser: bool,
    pub is_active: bool,
    /// Whether the user may view the event's product (members; superusers always).
    pub may_view_product: bool,
    /// The user's personal settings for this event.
    pub personal: EventSetting,
    /// The user's settings for this event in the event's product.
    pub product: EventSetting,
}

/// The product an event is about.
#[derive(Debug, Clone, Copy)]
pub struct ProductContext {
    /// As DefectDojo: no SLA breach notifications for this product at all.
    pub disable_sla_breach_notifications: bool,
}

/// Who an event is for.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Everyone concerned: the system send, the product's extra recipients, and every user who may view the
    /// product (without a product: superusers) and asks for a channel.
    FanOut,
    /// Only these users (mentions, review requests, reminders to a lead, a report's requester).
    Directed(Vec<UserId>),
}

/// Everything resolution looks at.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub event: NotificationEvent,
    pub audience: Audience,
    pub product: Option<ProductContext>,
    pub system: &'a SystemSwitches,
    /// The system-scope setting for this event.
    pub system_setting: &'a EventSetting,
    /// The product's extra recipients for this event (product scope without a user).
    pub product_extra: &'a EventSetting,
    pub candidates: &'a [Candidate],
}

/// The SLA events a product can opt out of.
#[must_use]
pub fn is_sla_breach_event(event: NotificationEvent) -> bool {
    matches!(
        event,
        NotificationEvent::SlaBreachApproaching
            | NotificationEvent::SlaBreach
            | NotificationEvent::SlaBreachEscalation
            | NotificationEvent::SlaBreachCombined
    )
}

/// The (channel, target) pairs to deliver to, each once.
#[must_use]
pub fn resolve(input: &Resolution<'_>) -> BTreeSet<(Channel, Target)> {
    let mut out = BTreeSet::new();
    if is_sla_breach_event(input.event) && input.product.is_some_and(|p| p.disable_sla_breach_notifications) {
        return out;
    }
    match &input.audience {
        Audience::FanOut => {
            system_send(input, input.system_setting, true, &mut out);
            if input.product.is_some() {
                system_send(input, input.product_extra, false, &mut out);
            }
            for user in input.candidates.iter().filter(|u| receives_fan_out(u, input.product.is_some())) {
                let merged = union(&user.personal, &user.product);
                personal_send(input.system, user, &merged.channels, &mut out);
            }
        }
        Audience::Directed(user_ids) => {
            let trumps = input.system.system_level_trump.contains(&input.event);
            for user in input.candidates.iter().filter(|u| user_ids.contains(&u.user_id)) {
                if !user.is_active || (input.product.is_some() && !user.may_view_product) {
                    continue;
                }
                let mut channels = user.personal.channels.clone();
                if trumps {
                    channels.extend(input.system_setting.channels.iter().copied());
                }
                personal_send(input.system, user, &channels, &mut out);
            }
        }
    }
    out
}

fn receives_fan_out(user: &Candidate, has_product: bool) -> bool {
    user.is_active && if has_product { user.may_view_product || user.is_superuser } else { user.is_superuser }
}

fn union(a: &EventSetting, b: &EventSetting) -> EventSetting {
    EventSetting {
        channels: a.channels.union(&b.channels).copied().collect(),
        emails: a.emails.iter().chain(&b.emails).cloned().collect(),
        slack_channels: a.slack_channels.iter().chain(&b.slack_channels).cloned().collect(),
        webhook_ids: a.webhook_ids.iter().chain(&b.webhook_ids).copied().collect(),
    }
}

/// The targets of a system-scope (or product extra-recipient) setting. `with_system_targets` adds the
/// system-wide mail recipients and Slack channel, and in-app alerts to superusers.
fn system_send(
    input: &Resolution<'_>,
    setting: &EventSetting,
    with_system_targets: bool,
    out: &mut BTreeSet<(Channel, Target)>,
) {
    for &channel in setting.channels.iter().filter(|&&c| input.system.enabled(c)) {
        match channel {
            Channel::Alert if with_system_targets => {
                for user in input.candidates.iter().filter(|u| u.is_superuser && u.is_active) {
                    out.insert((Channel::Alert, Target::User(user.user_id)));
                }
            }
            Channel::Mail => {
                let system = if with_system_targets { input.system.mail_recipients.as_slice() } else { &[] };
                for address in system.iter().chain(&setting.emails) {
                    out.insert((Channel::Mail, Target::Email(address.to_lowercase())));
                }
            }
            Channel::Slack => {
                let system = if with_system_targets { input.system.slack_channel.as_slice() } else { &[] };
                for name in system.iter().chain(&setting.slack_channels) {
                    out.insert((Channel::Slack, Target::SlackChannel(name.clone())));
                }
            }
            Channel::MsTeams if with_system_targets => {
                out.insert((Channel::MsTeams, Target::MsTeams));
            }
            Channel::Pager if with_system_targets => {
                out.insert((Channel::Pager, Target::Pager));
            }
            // Only the system send has these targets: alerts to superusers, the Teams workflow, the pager.
            Channel::Alert | Channel::MsTeams | Channel::Pager => {}
            Channel::Webhook => {
                for &id in &setting.webhook_ids {
                    out.insert((Channel::Webhook, Target::Webhook(id)));
                }
            }
        }
    }
}

/// A user's own channels: an alert, a mail to their address, a Slack direct message. Teams and webhooks are
/// system-scope only (as DefectDojo), so a user's own choice of them sends nothing.
fn personal_send(
    system: &SystemSwitches,
    user: &Candidate,
    channels: &BTreeSet<Channel>,
    out: &mut BTreeSet<(Channel, Target)>,
) {
    for &channel in channels.iter().filter(|&&c| system.enabled(c)) {
        let target = match channel {
            Channel::Alert => Target::User(user.user_id),
            Channel::Mail => Target::Email(user.email.to_lowercase()),
            Channel::Slack => Target::SlackUser(user.user_id),
            Channel::MsTeams | Channel::Webhook | Channel::Pager => continue,
        };
        out.insert((channel, target));
    }
}

#[cfg(test)]
mod tests;
