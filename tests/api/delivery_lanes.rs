//! Issue 17, point 4: one slow receiver does not hold up the others. Lanes run independently: while a
//! webhook that takes 2 s per request works through its backlog, a fast one gets all of its deliveries.
//! Before the fix a pass waited for every lane before claiming again, so each batch of the fast receiver
//! waited for the slow one's share of it.

use std::time::Duration;

use crate::crash::{pending_deliveries_to, serve_with_lease};
use crate::receiver::Receiver;

const EACH: usize = 300;

#[tokio::test]
async fn a_slow_receiver_delays_only_its_own_deliveries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let slow = Receiver::start_slow(Duration::from_secs(2)).await;
    let fast = Receiver::start(vec![]).await;
    // Every notification goes to both, so each claim holds rows of both receivers.
    let database_url = pending_deliveries_to(&dir, &[&slow.url, &fast.url], EACH).await;
    let mut server = serve_with_lease(&database_url, "30");
    let fast_received = fast.wait_for_within(EACH, Duration::from_secs(60)).await.len();
    let slow_received = slow.received().len();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(fast_received, EACH, "every delivery to the fast receiver arrived");
    // The slow receiver answers one request per 2 s, one at a time: at most a few by now.
    assert!(
        slow_received <= 4,
        "the fast receiver's deliveries waited for the slow one: {slow_received} slow requests first"
    );
    assert!(slow_received >= 1, "the slow receiver is being sent to meanwhile");
}
