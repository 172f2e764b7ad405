//! Conditions on notification settings (issue 21): a setting may apply only to some severities and, at the
//! system and template scopes, only to some products or product types. Several settings for one event and
//! scope then coexist when their conditions differ — the runbook's "SLA breach: Critical → page and mail
//! Cheery; High → mail the team" — and what applies to an event is the union of the settings whose
//! conditions it meets. Pure; recipient resolution (`recipients`) takes the merged setting.

use std::collections::{BTreeMap, BTreeSet};

use super::recipients::EventSetting;
use super::{NotificationEvent, ProductId, ProductTypeId, Severity};

/// When a setting applies, beyond its event. An empty set means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    pub severities: BTreeSet<Severity>,
    /// With `product_type_ids`: the products it applies to are these and those of these types.
    pub product_ids: BTreeSet<ProductId>,
    pub product_type_ids: BTreeSet<ProductTypeId>,
    /// For the SLA digest: the daily one rather than the one of each sweep.
    pub daily: bool,
}

/// Which SLA digest a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestCadence {
    /// With each sweep.
    PerSweep,
    /// Once a day.
    Daily,
}

/// What an event is about, as far as conditions look: a finding's severity, the product and its type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Subject {
    pub severity: Option<Severity>,
    pub product_id: Option<ProductId>,
    pub product_type_id: Option<ProductTypeId>,
    /// An SLA digest's cadence (`None`: not a digest).
    pub digest: Option<DigestCadence>,
}

impl Condition {
    /// A condition that holds for every event.
    #[must_use]
    pub fn always() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn is_always(&self) -> bool {
        self.severities.is_empty() && self.product_ids.is_empty() && self.product_type_ids.is_empty() && !self.daily
    }

    /// Its canonical text, the same for equal conditions and empty for `always`: a setting's key beside its
    /// owner and event (`s=Critical,High;p=3;t=1`).
    #[must_use]
    pub fn key(&self) -> String {
        let join = |items: Vec<String>| items.join(",");
        let mut parts = Vec::new();
        if !self.severities.is_empty() {
            parts.push(format!("s={}", join(self.severities.iter().map(|s| s.as_str().to_owned()).collect())));
        }
        if !self.product_ids.is_empty() {
            parts.push(format!("p={}", join(self.product_ids.iter().map(ToString::to_string).collect())));
        }
        if !self.product_type_ids.is_empty() {
            parts.push(format!("t={}", join(self.product_type_ids.iter().map(ToString::to_string).collect())));
        }
        if self.daily {
            parts.push("d=daily".to_owned());
        }
        parts.join(";")
    }

    /// Whether an event about `subject` meets it. A restricted dimension needs the subject to have it: a
    /// severity condition never matches an event without a finding, a product condition one without a product.
    #[must_use]
    pub fn holds_for(&self, subject: Subject) -> bool {
        let severity_holds =
            self.severities.is_empty() || subject.severity.is_some_and(|s| self.severities.contains(&s));
        let product_holds = (self.product_ids.is_empty() && self.product_type_ids.is_empty())
            || subject.product_id.is_some_and(|p| self.product_ids.contains(&p))
            || subject.product_type_id.is_some_and(|t| self.product_type_ids.contains(&t));
        let cadence_holds = subject.digest.is_none_or(|cadence| self.daily == (cadence == DigestCadence::Daily));
        severity_holds && product_holds && cadence_holds
    }
}

/// One stored setting of a scope for an event, with its condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionalSetting {
    pub condition: Condition,
    pub setting: EventSetting,
}

/// The setting that applies to an event about `subject` in one scope: the union of the settings whose
/// conditions hold (channels, extra addresses, Slack channels and webhooks each once); `None` when none
/// holds, so the scope's fallback (its `other` setting, then the defaults) applies.
#[must_use]
pub fn applicable(settings: &[ConditionalSetting], subject: Subject) -> Option<EventSetting> {
    let mut holding = settings.iter().filter(|s| s.condition.holds_for(subject)).peekable();
    holding.peek()?;
    let mut merged = EventSetting::default();
    for ConditionalSetting { setting, .. } in holding {
        merged.channels.extend(setting.channels.iter().copied());
        extend_unique(&mut merged.emails, &setting.emails);
        extend_unique(&mut merged.slack_channels, &setting.slack_channels);
        extend_unique(&mut merged.webhook_ids, &setting.webhook_ids);
    }
    Some(merged)
}

/// The setting one scope gives an event about `subject`: what its settings for that event say when one of
/// them holds, else what its `other` settings say (as DefectDojo's `other`), else none. The SLA digest is
/// only for those who chose it: it never falls back to `other`, which would double every SLA message.
#[must_use]
pub fn setting_for(
    settings: &BTreeMap<NotificationEvent, Vec<ConditionalSetting>>,
    event: NotificationEvent,
    subject: Subject,
) -> Option<EventSetting> {
    let of = |event: NotificationEvent| settings.get(&event).and_then(|stored| applicable(stored, subject));
    let fallback = || if event.is_opt_in() { None } else { of(NotificationEvent::Other) };
    of(event).or_else(fallback)
}

fn extend_unique<T: Clone + PartialEq>(into: &mut Vec<T>, from: &[T]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recipients::Channel;

    fn setting(channels: &[Channel], emails: &[&str]) -> EventSetting {
        EventSetting {
            channels: channels.iter().copied().collect(),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            ..EventSetting::default()
        }
    }

    fn when(severities: &[Severity], product_ids: &[i32], product_type_ids: &[i32]) -> Condition {
        Condition {
            severities: severities.iter().copied().collect(),
            product_ids: product_ids.iter().copied().map(ProductId::new).collect(),
            product_type_ids: product_type_ids.iter().copied().map(ProductTypeId::new).collect(),
            daily: false,
        }
    }

    fn about(severity: Severity, product_id: i32, product_type_id: i32) -> Subject {
        Subject {
            severity: Some(severity),
            product_id: Some(ProductId::new(product_id)),
            product_type_id: Some(ProductTypeId::new(product_type_id)),
            digest: None,
        }
    }

    #[test]
    fn conditions_hold_by_severity_and_by_product_or_its_type() {
        use Severity::{Critical, High, Low};
        // (condition, subject, holds)
        let table = [
            (Condition::always(), about(Low, 1, 10), true),
            (Condition::always(), Subject::default(), true),
            (when(&[Critical], &[], &[]), about(Critical, 1, 10), true),
            (when(&[Critical], &[], &[]), about(High, 1, 10), false),
            (when(&[Critical, High], &[], &[]), about(High, 1, 10), true),
            (when(&[Critical], &[], &[]), Subject { product_id: Some(ProductId::new(1)), ..Subject::default() }, false),
            (when(&[], &[2], &[]), about(Low, 2, 10), true),
            (when(&[], &[2], &[]), about(Low, 1, 10), false),
            (when(&[], &[2], &[10]), about(Low, 1, 10), true),
            (when(&[], &[], &[11]), about(Low, 1, 10), false),
            (when(&[], &[2], &[]), Subject { severity: Some(Low), ..Subject::default() }, false),
            (when(&[Critical], &[2], &[]), about(Critical, 2, 10), true),
            (when(&[Critical], &[2], &[]), about(High, 2, 10), false),
            (when(&[Critical], &[2], &[]), about(Critical, 3, 10), false),
        ];
        for (condition, subject, holds) in table {
            assert_eq!(condition.holds_for(subject), holds, "{condition:?} for {subject:?}");
        }
        assert!(Condition::always().is_always());
        assert!(!when(&[Low], &[], &[]).is_always());
    }

    #[test]
    fn the_runbooks_routing_merges_the_settings_whose_conditions_hold() {
        use Channel::{Alert, Mail, Slack};
        // SLA breach at system scope: Critical → Slack + mail to Cheery; High → mail to the team; the Royal
        // Bank liaison gets every breach of product 2.
        let settings = [
            ConditionalSetting {
                condition: when(&[Severity::Critical], &[], &[]),
                setting: setting(&[Slack, Mail], &["cheery@golemtrust.am"]),
            },
            ConditionalSetting {
                condition: when(&[Severity::High], &[], &[]),
                setting: setting(&[Mail], &["security-team@golemtrust.am"]),
            },
            ConditionalSetting {
                condition: when(&[], &[2], &[]),
                setting: setting(&[Mail, Alert], &["liaison@royalbank.am", "cheery@golemtrust.am"]),
            },
        ];
        let critical_elsewhere = applicable(&settings, about(Severity::Critical, 1, 10)).expect("applies");
        assert_eq!(critical_elsewhere, setting(&[Slack, Mail], &["cheery@golemtrust.am"]));
        let high_elsewhere = applicable(&settings, about(Severity::High, 1, 10)).expect("applies");
        assert_eq!(high_elsewhere, setting(&[Mail], &["security-team@golemtrust.am"]));
        let critical_at_the_bank = applicable(&settings, about(Severity::Critical, 2, 10)).expect("applies");
        assert_eq!(
            critical_at_the_bank,
            setting(&[Slack, Mail, Alert], &["cheery@golemtrust.am", "liaison@royalbank.am"]),
            "both settings, each address once"
        );
        assert_eq!(applicable(&settings, about(Severity::Low, 1, 10)), None, "none holds: the fallback applies");
        assert_eq!(applicable(&[], about(Severity::Low, 1, 10)), None);
    }

    #[test]
    fn a_daily_digest_setting_takes_the_daily_digest_only() {
        let daily = Condition { daily: true, ..Condition::always() };
        let of = |digest| Subject { digest, ..Subject::default() };
        assert!(daily.holds_for(of(Some(DigestCadence::Daily))));
        assert!(!daily.holds_for(of(Some(DigestCadence::PerSweep))));
        assert!(!Condition::always().holds_for(of(Some(DigestCadence::Daily))), "per sweep unless asked");
        assert!(Condition::always().holds_for(of(Some(DigestCadence::PerSweep))));
        assert!(!daily.is_always());
        assert_eq!(daily.key(), "d=daily");
    }

    #[test]
    fn a_conditions_key_is_canonical_and_empty_when_unconditional() {
        assert_eq!(Condition::always().key(), "");
        let a = when(&[Severity::High, Severity::Critical], &[3], &[1, 2]);
        let b = when(&[Severity::Critical, Severity::High], &[3], &[2, 1]);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "s=Critical,High;p=3;t=1,2");
        assert_eq!(when(&[], &[3], &[]).key(), "p=3");
        assert_ne!(when(&[], &[3], &[]).key(), when(&[], &[], &[3]).key(), "a product is not a product type");
    }

    #[test]
    fn an_events_settings_fall_back_to_other_when_none_holds() {
        let mut settings = BTreeMap::new();
        let critical_only = ConditionalSetting {
            condition: when(&[Severity::Critical], &[], &[]),
            setting: setting(&[Channel::Mail], &[]),
        };
        settings.insert(NotificationEvent::SlaBreach, vec![critical_only]);
        settings.insert(
            NotificationEvent::Other,
            vec![ConditionalSetting { condition: Condition::always(), setting: setting(&[Channel::Alert], &[]) }],
        );
        let critical = setting_for(&settings, NotificationEvent::SlaBreach, about(Severity::Critical, 1, 1));
        assert_eq!(critical, Some(setting(&[Channel::Mail], &[])));
        let low = setting_for(&settings, NotificationEvent::SlaBreach, about(Severity::Low, 1, 1));
        assert_eq!(low, Some(setting(&[Channel::Alert], &[])), "no SLA breach setting holds: `other` applies");
        let digest = setting_for(&settings, NotificationEvent::SlaBreachCombined, Subject::default());
        assert_eq!(digest, None, "the digest is only for those who chose it, never through `other`");
        settings.remove(&NotificationEvent::Other);
        assert_eq!(setting_for(&settings, NotificationEvent::SlaBreach, about(Severity::Low, 1, 1)), None);
    }
}
