//! Tests of `recipients`.

use super::*;

const SECURITY_TEAM: &str = "security-team@golemtrust.am";

fn setting(channels: &[Channel]) -> EventSetting {
    EventSetting { channels: channels.iter().copied().collect(), ..EventSetting::default() }
}

fn all_enabled() -> SystemSwitches {
    SystemSwitches {
        enable_mail: true,
        enable_slack: true,
        enable_msteams: true,
        enable_webhooks: true,
        slack_channel: Some("#security".to_owned()),
        msteams_configured: true,
        enable_pager: true,
        pager_configured: true,
        mail_recipients: vec![SECURITY_TEAM.to_owned()],
        system_level_trump: NotificationEvent::DEFAULT_SYSTEM_LEVEL_TRUMP.to_vec(),
    }
}

fn user(id: i32, superuser: bool, member: bool, personal: &[Channel]) -> Candidate {
    Candidate {
        user_id: UserId::new(id),
        email: format!("user{id}@golemtrust.am"),
        is_superuser: superuser,
        is_active: true,
        may_view_product: member || superuser,
        personal: setting(personal),
        product: EventSetting::default(),
    }
}

struct Case<'a> {
    event: NotificationEvent,
    audience: Audience,
    product: Option<ProductContext>,
    system: SystemSwitches,
    system_setting: EventSetting,
    product_extra: EventSetting,
    candidates: Vec<Candidate>,
    _name: &'a str,
}

impl Case<'_> {
    fn resolve(&self) -> BTreeSet<(Channel, Target)> {
        resolve(&Resolution {
            event: self.event,
            audience: self.audience.clone(),
            product: self.product,
            system: &self.system,
            system_setting: &self.system_setting,
            product_extra: &self.product_extra,
            candidates: &self.candidates,
        })
    }
}

fn case(name: &str) -> Case<'_> {
    Case {
        event: NotificationEvent::ProductAdded,
        audience: Audience::FanOut,
        product: Some(ProductContext { disable_sla_breach_notifications: false }),
        system: all_enabled(),
        system_setting: EventSetting::default(),
        product_extra: EventSetting::default(),
        candidates: Vec::new(),
        _name: name,
    }
}

fn pairs(items: &[(Channel, Target)]) -> BTreeSet<(Channel, Target)> {
    items.iter().cloned().collect()
}

#[test]
fn fan_out_with_a_product_reaches_the_system_targets_and_members_who_ask() {
    let mut c = case("fan-out with product");
    c.system_setting = setting(&[Channel::Mail, Channel::Slack, Channel::MsTeams]);
    c.candidates = vec![user(1, false, true, &[Channel::Alert, Channel::Mail]), user(2, false, true, &[])];
    assert_eq!(
        c.resolve(),
        pairs(&[
            (Channel::Alert, Target::User(UserId::new(1))),
            (Channel::Mail, Target::Email(SECURITY_TEAM.to_owned())),
            (Channel::Mail, Target::Email("user1@golemtrust.am".to_owned())),
            (Channel::Slack, Target::SlackChannel("#security".to_owned())),
            (Channel::MsTeams, Target::MsTeams),
        ])
    );
}

#[test]
fn non_members_are_excluded_and_superusers_included() {
    let mut c = case("members only");
    c.candidates = vec![user(1, false, false, &[Channel::Alert]), user(2, true, false, &[Channel::Alert])];
    assert_eq!(c.resolve(), pairs(&[(Channel::Alert, Target::User(UserId::new(2)))]));
}

#[test]
fn fan_out_without_a_product_reaches_only_superusers() {
    let mut c = case("no product");
    c.event = NotificationEvent::ProductTypeAdded;
    c.product = None;
    c.candidates = vec![user(1, false, true, &[Channel::Alert]), user(2, true, false, &[Channel::Alert])];
    assert_eq!(c.resolve(), pairs(&[(Channel::Alert, Target::User(UserId::new(2)))]));
}

#[test]
fn inactive_users_receive_nothing() {
    let mut c = case("inactive");
    let mut gone = user(1, true, true, &[Channel::Alert]);
    gone.is_active = false;
    c.candidates = vec![gone];
    c.system_setting = setting(&[Channel::Alert]);
    assert!(c.resolve().is_empty());
}

#[test]
fn personal_and_product_settings_are_merged() {
    let mut c = case("merge");
    let mut member = user(1, false, true, &[Channel::Alert]);
    member.product = setting(&[Channel::Mail]);
    c.candidates = vec![member];
    assert_eq!(
        c.resolve(),
        pairs(&[
            (Channel::Alert, Target::User(UserId::new(1))),
            (Channel::Mail, Target::Email("user1@golemtrust.am".to_owned()))
        ])
    );
}

#[test]
fn directed_events_reach_only_the_named_users_by_their_personal_settings() {
    let mut c = case("directed");
    c.event = NotificationEvent::UpcomingEngagement;
    c.audience = Audience::Directed(vec![UserId::new(1)]);
    c.system_setting = setting(&[Channel::Mail]);
    c.candidates = vec![user(1, false, true, &[Channel::Alert]), user(2, true, true, &[Channel::Alert])];
    assert_eq!(c.resolve(), pairs(&[(Channel::Alert, Target::User(UserId::new(1)))]), "no system send, no other user");
}

#[test]
fn the_override_list_merges_system_channels_into_directed_events() {
    let mut c = case("override");
    c.event = NotificationEvent::UserMentioned;
    c.audience = Audience::Directed(vec![UserId::new(1)]);
    c.system_setting = setting(&[Channel::Mail]);
    c.candidates = vec![user(1, false, true, &[])];
    assert_eq!(c.resolve(), pairs(&[(Channel::Mail, Target::Email("user1@golemtrust.am".to_owned()))]));
    c.system.system_level_trump.clear();
    assert!(c.resolve().is_empty(), "without the override the user's opt-out stands");
}

#[test]
fn a_directed_event_about_a_product_skips_users_who_may_not_view_it() {
    let mut c = case("directed non-member");
    c.event = NotificationEvent::UserMentioned;
    c.audience = Audience::Directed(vec![UserId::new(1)]);
    c.candidates = vec![user(1, false, false, &[Channel::Alert])];
    assert!(c.resolve().is_empty());
}

#[test]
fn channels_disabled_in_system_settings_are_never_used() {
    let mut c = case("disabled");
    c.system = SystemSwitches { mail_recipients: vec![SECURITY_TEAM.to_owned()], ..SystemSwitches::default() };
    c.system_setting = setting(&Channel::ALL);
    c.product_extra = EventSetting { emails: vec!["liaison@royalbank.am".to_owned()], ..setting(&[Channel::Mail]) };
    c.candidates = vec![user(1, true, true, &Channel::ALL)];
    assert_eq!(c.resolve(), pairs(&[(Channel::Alert, Target::User(UserId::new(1)))]), "alerts are always on");
    c.system.enable_msteams = true;
    assert!(!c.resolve().contains(&(Channel::MsTeams, Target::MsTeams)), "Teams needs a URL too");
    c.system.enable_pager = true;
    assert!(!c.resolve().contains(&(Channel::Pager, Target::Pager)), "the pager needs a key too");
    c.system.pager_configured = true;
    assert!(c.resolve().contains(&(Channel::Pager, Target::Pager)));
}

#[test]
fn the_royal_bank_liaison_is_added_by_the_product_extra_recipients() {
    let mut c = case("runbook liaison");
    c.event = NotificationEvent::SlaBreach;
    c.system_setting =
        EventSetting { emails: vec!["cheery@golemtrust.am".to_owned()], ..setting(&[Channel::Mail, Channel::Webhook]) };
    c.system_setting.webhook_ids = vec![WebhookId::new(7)];
    c.product_extra = EventSetting {
        emails: vec!["liaison@royalbank.am".to_owned(), "Cheery@golemtrust.am".to_owned()],
        ..setting(&[Channel::Mail])
    };
    assert_eq!(
        c.resolve(),
        pairs(&[
            (Channel::Mail, Target::Email("cheery@golemtrust.am".to_owned())),
            (Channel::Mail, Target::Email("liaison@royalbank.am".to_owned())),
            (Channel::Mail, Target::Email(SECURITY_TEAM.to_owned())),
            (Channel::Webhook, Target::Webhook(WebhookId::new(7))),
        ])
    );
}

#[test]
fn a_product_that_opts_out_of_breach_notifications_gets_none() {
    let mut c = case("opt-out");
    c.event = NotificationEvent::SlaBreach;
    c.product = Some(ProductContext { disable_sla_breach_notifications: true });
    c.system_setting = setting(&[Channel::Mail]);
    c.candidates = vec![user(1, true, true, &[Channel::Alert])];
    assert!(c.resolve().is_empty());
    c.event = NotificationEvent::SlaResolved;
    assert!(!c.resolve().is_empty(), "only breach events are suppressed");
}

#[test]
fn a_superuser_gets_each_message_once_per_channel_and_target() {
    let mut c = case("no duplicates");
    c.system.mail_recipients = vec!["user1@golemtrust.am".to_owned()];
    c.system_setting = setting(&[Channel::Alert, Channel::Mail]);
    c.candidates = vec![user(1, true, true, &[Channel::Alert, Channel::Mail])];
    assert_eq!(
        c.resolve(),
        pairs(&[
            (Channel::Alert, Target::User(UserId::new(1))),
            (Channel::Mail, Target::Email("user1@golemtrust.am".to_owned()))
        ])
    );
}

#[test]
fn targets_round_trip_through_their_stored_form() {
    for target in [
        Target::User(UserId::new(5)),
        Target::Email("a@b.am".to_owned()),
        Target::SlackChannel("#sec:ops".to_owned()),
        Target::SlackUser(UserId::new(3)),
        Target::MsTeams,
        Target::Pager,
        Target::Webhook(WebhookId::new(7)),
    ] {
        assert_eq!(target.to_string().parse::<Target>(), Ok(target));
    }
    assert!("user:x".parse::<Target>().is_err());
    assert!("pager:1".parse::<Target>().is_err());
    assert!("msteams:1".parse::<Target>().is_err());
}

#[test]
fn teams_webhooks_and_the_pager_are_system_scope_only() {
    let mut c = case("personal teams");
    c.candidates = vec![user(1, false, true, &[Channel::MsTeams, Channel::Webhook, Channel::Pager])];
    assert!(c.resolve().is_empty());
    c.product_extra = setting(&[Channel::Pager]);
    assert!(c.resolve().is_empty(), "a product's extra recipients do not page");
    c.system_setting = setting(&[Channel::Pager]);
    assert_eq!(c.resolve(), pairs(&[(Channel::Pager, Target::Pager)]));
}
