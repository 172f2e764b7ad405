//! The runbook's scenario as demo data: Golem Trust products, Royal-Bank-Integration on its own "Royal
//! Bank" SLA profile (1/5/30/90), users in every role, and findings in every SLA state relative to now.
//!
//! Built through the same service functions as the API, acting as the demo's security lead.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{ProductId, ProductRole, ProductTypeId, Severity, SlaConfigurationId};
use crate::error::ServiceResult;
use crate::service::findings::NewFinding;
use crate::service::products::ProductInput;
use crate::service::sla_configs::SlaConfigInput;
use crate::service::users::NewUser;
use crate::service::{Actor, engagements, findings, members, product_types, products, sla_configs, users};
use crate::state::AppState;

/// The password of every demo user (the demo is for trying slawatch out, not for production).
pub const DEMO_PASSWORD: &str = "golem-trust-demo";
/// The product that marks the demo as loaded.
pub const ROYAL_BANK_PRODUCT: &str = "Royal-Bank-Integration";

/// What the demo created.
#[derive(Debug)]
pub struct DemoSummary {
    pub already_loaded: bool,
    pub users: Vec<(String, &'static str)>,
    pub findings: usize,
}

const DEMO_USERS: [(&str, &str, &str, bool); 6] = [
    ("cheery", "Cheery Littlebottom", "security lead (superuser)", true),
    ("carrot", "Carrot Ironfoundersson", "owner of every product", false),
    ("dorfl", "Dorfl", "writer on the Golem Trust products", false),
    ("angua", "Angua von Überwald", "writer on Royal-Bank-Integration", false),
    ("otto", "Otto Chriek", "auditor: reader of Royal-Bank-Integration", false),
    ("nobby", "Nobby Nobbs", "no product membership", false),
];

/// Loads the scenario unless it is already there.
pub async fn load(state: &AppState) -> ServiceResult<DemoSummary> {
    let listed = DEMO_USERS.iter().map(|(name, _, role, _)| ((*name).to_owned(), *role)).collect();
    // Two loads started together (two `serve --demo`, or `demo` beside one): the second waits, then sees
    // the scenario loaded.
    let _alone = crate::db::exclusively(&state.db, crate::db::Exclusive::DemoLoad).await?;
    if products::get_by_name(state, &system_actor(), ROYAL_BANK_PRODUCT).await.is_ok() {
        return Ok(DemoSummary { already_loaded: true, users: listed, findings: 0 });
    }
    let now = state.clock.now();
    let mut ids = Vec::new();
    for (username, display, _, superuser) in DEMO_USERS {
        let existing = users::find_by_username(&state.db, username).await.ok();
        let user = match existing {
            Some(user) => user,
            None => {
                let new = NewUser {
                    username: username.to_owned(),
                    email: format!("{username}@golemtrust.am"),
                    display_name: Some(display.to_owned()),
                    password: Some(DEMO_PASSWORD.to_owned()),
                    is_superuser: superuser,
                    slack_email: None,
                };
                users::create_unchecked(&state.db, new, now.timestamp()).await?
            }
        };
        ids.push(user.id);
    }
    let (cheery, carrot, dorfl, angua, otto) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    let lead = Actor { user_id: cheery, username: "cheery".to_owned(), is_superuser: true };

    let golem = product_types::create(state, &lead, "Golem Trust", Some("Internal services".to_owned())).await?;
    let customers =
        product_types::create(state, &lead, "Customer Integrations", Some("Contracted integrations".to_owned()))
            .await?;
    let royal_profile = sla_configs::create(
        state,
        &lead,
        SlaConfigInput {
            name: Some("Royal Bank".to_owned()),
            description: Some("Contract: Critical 24 h, High 5 days; breaches reported within 4 h".to_owned()),
            critical: Some(1),
            high: Some(5),
            medium: Some(30),
            low: Some(90),
            ..SlaConfigInput::default()
        },
    )
    .await?;
    let product = |name: &str, type_id: ProductTypeId, config: Option<SlaConfigurationId>| ProductInput {
        name: Some(name.to_owned()),
        product_type_id: Some(type_id),
        sla_configuration_id: config,
        ..ProductInput::default()
    };
    let portal = products::create(state, &lead, product("Golem-Trust-Portal", golem.id, None)).await?;
    let clacks = products::create(state, &lead, product("Clacks-Relay", golem.id, None)).await?;
    let royal =
        products::create(state, &lead, product(ROYAL_BANK_PRODUCT, customers.id, Some(royal_profile.id))).await?;

    for (product_id, user_id, role) in [
        (portal.id, carrot, ProductRole::Owner),
        (clacks.id, carrot, ProductRole::Owner),
        (royal.id, carrot, ProductRole::Owner),
        (portal.id, dorfl, ProductRole::Writer),
        (clacks.id, dorfl, ProductRole::Writer),
        (royal.id, angua, ProductRole::Writer),
        (royal.id, otto, ProductRole::Reader),
    ] {
        members::add(state, &lead, product_id, user_id, role).await?;
    }
    engagements::create(
        state,
        &lead,
        engagements::EngagementInput {
            product_id: Some(royal.id),
            name: Some("Q4 penetration test".to_owned()),
            target_start: Some((now + TimeDelta::days(2)).date_naive()),
            target_end: Some((now + TimeDelta::days(9)).date_naive()),
            lead_id: Some(carrot),
            ..engagements::EngagementInput::default()
        },
    )
    .await?;

    let created = findings::create_many(state, &lead, scenario_findings(now, portal.id, clacks.id, royal.id)).await?;
    Ok(DemoSummary { already_loaded: false, users: listed, findings: created.len() })
}

/// A superuser identity for look-ups before any demo user exists.
fn system_actor() -> Actor {
    Actor::system("system")
}

fn scenario_findings(now: DateTime<Utc>, portal: ProductId, clacks: ProductId, royal: ProductId) -> Vec<NewFinding> {
    let ago = |hours: i64| now - TimeDelta::hours(hours);
    let finding = |product_id: ProductId, title: &str, severity: Severity, start_hours_ago: i64| NewFinding {
        sla_start: Some(ago(start_hours_ago)),
        verified: Some(true),
        ..NewFinding::new(product_id, title, severity)
    };
    let mitigated = |base: NewFinding, after_hours: i64| NewFinding {
        mitigated_at: base.sla_start.map(|s| s + TimeDelta::hours(after_hours)),
        ..base
    };
    vec![
        // On track.
        finding(portal, "Outdated TLS cipher suites on login page", Severity::Critical, 1),
        finding(clacks, "Verbose error pages reveal stack traces", Severity::Medium, 24),
        finding(portal, "Missing Content-Security-Policy header", Severity::Low, 48),
        // Approaching: past 50 % of the period.
        finding(portal, "SQL injection in search endpoint", Severity::Critical, 14),
        finding(royal, "Weak session token entropy", Severity::High, 72),
        finding(clacks, "Clacks relay accepts unsigned frames", Severity::High, 100),
        // Breached.
        NewFinding {
            external_reference: Some("SEC-101".to_owned()),
            ..finding(royal, "Remote code execution in payment gateway", Severity::Critical, 30)
        },
        NewFinding {
            external_reference: Some("SEC-88".to_owned()),
            ..finding(royal, "Broken access control on statements API", Severity::High, 24 * 6)
        },
        NewFinding {
            date: Some((now - TimeDelta::days(10)).date_naive()),
            sla_start: None,
            ..finding(portal, "Stored XSS in profile page", Severity::High, 0)
        },
        finding(clacks, "Default credentials on relay admin console", Severity::Medium, 24 * 40),
        // Met and missed.
        mitigated(finding(royal, "Open redirect after logout", Severity::High, 24 * 10), 24 * 3),
        mitigated(finding(portal, "Directory listing enabled", Severity::Critical, 24 * 5), 48),
        mitigated(finding(royal, "Clickjacking on transfer confirmation", Severity::Medium, 24 * 40), 24 * 35),
        // No SLA: informational, a false positive, and an accepted risk.
        finding(portal, "Server banner discloses version", Severity::Info, 5),
        NewFinding {
            false_positive: Some(true),
            ..finding(clacks, "Self-signed certificate on test host", Severity::High, 20)
        },
        NewFinding {
            risk_accepted: Some(true),
            ..finding(portal, "Legacy export uses SHA-1", Severity::Low, 24 * 100)
        },
    ]
}
