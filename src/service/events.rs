//! The notifications the API raises, with their texts, in one place. Each is published through the outbox
//! in the transaction of the change it reports.

use crate::domain::engagement_reminders::Reminder;
use crate::domain::import_statistics::ImportStatistics;
use crate::domain::notification_payload::{EngagementFacts, FindingFacts, Named, NotificationPayload};
use crate::domain::recipients::Audience;
use crate::domain::{NotificationEvent, UserId};
use crate::entity::{engagement, finding, product, product_type, scan_test};
use crate::service::outbox::NewNotification;

fn link(site: &str, path: &str) -> String {
    format!("{}{path}", site.trim_end_matches('/'))
}

/// What a notification says of a finding.
#[must_use]
pub fn finding_facts(finding: &finding::Model) -> FindingFacts {
    FindingFacts { id: finding.id, title: finding.title.clone(), severity: finding.severity }
}

fn engagement_payload(engagement: &engagement::Model, product_name: &str) -> NotificationPayload {
    NotificationPayload {
        engagement: Some(EngagementFacts {
            id: engagement.id,
            name: engagement.name.clone(),
            status: engagement.status,
            target_start: engagement.target_start,
            target_end: engagement.target_end,
        }),
        product: Some(Named { id: engagement.product_id, name: product_name.to_owned() }),
        ..NotificationPayload::default()
    }
}

#[must_use]
pub fn product_type_added(product_type: &product_type::Model, site: &str) -> NewNotification {
    NewNotification {
        event: NotificationEvent::ProductTypeAdded,
        audience: Audience::FanOut,
        product_id: None,
        finding_id: None,
        title: format!("Product type {} added", product_type.name),
        description: format!("The product type \"{}\" was added.", product_type.name),
        url: Some(link(site, "/")),
        payload: NotificationPayload {
            product_type: Some(Named { id: product_type.id, name: product_type.name.clone() }),
            ..NotificationPayload::default()
        },
        dedupe_key: None,
        extra_targets: Vec::new(),
    }
}

#[must_use]
pub fn product_added(product: &product::Model, site: &str) -> NewNotification {
    NewNotification {
        event: NotificationEvent::ProductAdded,
        audience: Audience::FanOut,
        product_id: Some(product.id),
        finding_id: None,
        title: format!("Product {} added", product.name),
        description: format!("The product \"{}\" was added.", product.name),
        url: Some(link(site, &format!("/?product={}", product.id))),
        payload: NotificationPayload {
            product: Some(Named { id: product.id, name: product.name.clone() }),
            ..NotificationPayload::default()
        },
        dedupe_key: None,
        extra_targets: Vec::new(),
    }
}

#[must_use]
pub fn engagement(
    event: NotificationEvent,
    engagement: &engagement::Model,
    product_name: &str,
    site: &str,
) -> NewNotification {
    let verb = if event == NotificationEvent::CloseEngagement { "closed" } else { "added" };
    NewNotification {
        event,
        audience: Audience::FanOut,
        product_id: Some(engagement.product_id),
        finding_id: None,
        title: format!("Engagement {} {verb} in {product_name}", engagement.name),
        description: format!(
            "The engagement \"{}\" of {product_name} ({} to {}) was {verb}.",
            engagement.name, engagement.target_start, engagement.target_end
        ),
        url: Some(link(site, &format!("/?product={}", engagement.product_id))),
        payload: engagement_payload(engagement, product_name),
        dedupe_key: None,
        extra_targets: Vec::new(),
    }
}

/// A finding event addressed to named users.
#[must_use]
pub fn directed_on_finding(
    event: NotificationEvent,
    finding: &finding::Model,
    actor: &str,
    users: Vec<UserId>,
    text: &str,
    site: &str,
) -> NewNotification {
    let title = match event {
        NotificationEvent::UserMentioned => format!("{actor} mentioned you on \"{}\"", finding.title),
        NotificationEvent::ReviewRequested => format!("{actor} asks you to review \"{}\"", finding.title),
        _ => format!("{} on \"{}\"", event.as_str(), finding.title),
    };
    NewNotification {
        event,
        audience: Audience::Directed(users),
        product_id: Some(finding.product_id),
        finding_id: Some(finding.id),
        title,
        description: text.to_owned(),
        url: Some(link(site, &format!("/?finding={}", finding.id))),
        payload: NotificationPayload {
            finding: Some(finding_facts(finding)),
            by: Some(actor.to_owned()),
            ..NotificationPayload::default()
        },
        dedupe_key: None,
        extra_targets: Vec::new(),
    }
}

/// One import of a scanner report: what it created, closed, reactivated and left as it was.
#[must_use]
pub fn scan_added(
    product: &product::Model,
    engagement: &engagement::Model,
    test: &scan_test::Model,
    statistics: &ImportStatistics,
    site: &str,
) -> NewNotification {
    let ImportStatistics { created, closed, reactivated, untouched } = statistics;
    let empty = created + closed + reactivated + untouched == 0;
    NewNotification {
        event: if empty { NotificationEvent::ScanAddedEmpty } else { NotificationEvent::ScanAdded },
        audience: Audience::FanOut,
        product_id: Some(product.id),
        finding_id: None,
        title: format!("{} scan added to {}: {created} new, {closed} closed", test.scan_type.as_str(), product.name),
        description: format!(
            "The {} scan of {} ({}, engagement \"{}\") was imported: {created} new, {closed} closed, \
             {reactivated} reactivated, {untouched} untouched findings.",
            test.scan_type.as_str(),
            test.scan_date,
            product.name,
            engagement.name
        ),
        url: Some(link(site, &format!("/?product={}", product.id))),
        payload: NotificationPayload {
            product: Some(Named { id: product.id, name: product.name.clone() }),
            ..NotificationPayload::default()
        },
        dedupe_key: None,
        extra_targets: Vec::new(),
    }
}

/// An engagement reminder: to the lead when there is one (as DefectDojo), else to everyone concerned.
/// Deduplicated per engagement and target date, so each goes out once.
#[must_use]
pub fn engagement_reminder(
    reminder: Reminder,
    engagement: &engagement::Model,
    product_name: &str,
    site: &str,
) -> NewNotification {
    let (event, title, description, date) = match reminder {
        Reminder::Upcoming => (
            NotificationEvent::UpcomingEngagement,
            format!("Upcoming engagement: {}", engagement.name),
            format!("The engagement \"{}\" of {product_name} starts on {}.", engagement.name, engagement.target_start),
            engagement.target_start,
        ),
        Reminder::Stale => (
            NotificationEvent::StaleEngagement,
            format!("Stale engagement: {}", engagement.name),
            format!(
                "The engagement \"{}\" of {product_name} is stale. Target end was {}.",
                engagement.name, engagement.target_end
            ),
            engagement.target_end,
        ),
        Reminder::AutoClose => (
            NotificationEvent::AutoCloseEngagement,
            format!("Engagement auto-closed: {}", engagement.name),
            format!(
                "The engagement \"{}\" of {product_name} has auto-closed. Target end was {}.",
                engagement.name, engagement.target_end
            ),
            engagement.target_end,
        ),
    };
    NewNotification {
        event,
        audience: engagement.lead_id.map_or(Audience::FanOut, |lead| Audience::Directed(vec![lead])),
        product_id: Some(engagement.product_id),
        finding_id: None,
        title,
        description,
        url: Some(link(site, &format!("/?product={}", engagement.product_id))),
        payload: engagement_payload(engagement, product_name),
        dedupe_key: Some(format!("{}:{}:{date}", event.as_str(), engagement.id)),
        extra_targets: Vec::new(),
    }
}
