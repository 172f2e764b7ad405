//! The line SQLite's writers wait in for their turn, in two parts: writes someone is waiting for (an edit, a
//! note, a setting) go before batches (imports, the SLA sweep, deliveries, chores), which otherwise keep their
//! arrival order. An edit then waits for at most the write that holds the turn, not for every batch queued
//! before it (BENCHMARKS.md, "Edits before batches").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// Which part of the line a writer waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteClass {
    /// A write a person or a client is waiting for, small by nature: it goes before the batches waiting.
    Prompt,
    /// A batch of work nobody waits on at once: imports, the sweep, deliveries, chores.
    Batch,
}

/// How many prompt writers may go in a row while a batch waits: a stream of edits cannot starve the
/// sweep or the deliveries, only slow them.
const PROMPT_IN_A_ROW: u32 = 8;

/// One turn at a time; shared by every clone of `WriteTurns`.
#[derive(Debug, Default)]
pub struct TurnQueue(Mutex<Line>);

#[derive(Debug, Default)]
struct Line {
    held: bool,
    prompt: VecDeque<oneshot::Sender<()>>,
    batch: VecDeque<oneshot::Sender<()>>,
    /// Prompt writers given the turn since a batch last had it, while batches waited.
    prompt_in_a_row: u32,
}

impl TurnQueue {
    /// Waits for the turn in `class`'s part of the line. Dropping the future gives up the place (or, if the
    /// turn had just been handed over, hands it on).
    pub async fn take(self: &Arc<Self>, class: WriteClass) -> Turn {
        let handed = {
            let mut line = self.line();
            if !line.held {
                line.held = true;
                return Turn(Arc::clone(self));
            }
            let (hand, handed) = oneshot::channel();
            match class {
                WriteClass::Prompt => line.prompt.push_back(hand),
                WriteClass::Batch => line.batch.push_back(hand),
            }
            handed
        };
        let mut waiting = Waiting { queue: Arc::clone(self), handed: Some(handed) };
        if let Some(handed) = waiting.handed.as_mut() {
            // The sender is only ever dropped by sending (`hand_on`), so an error cannot happen; were it to,
            // the turn is taken anyway rather than lost.
            let _ = handed.await;
        }
        waiting.handed = None;
        Turn(Arc::clone(self))
    }

    /// How many writers wait for the turn (including any that gave up their place since it last moved on).
    pub fn waiting(&self) -> usize {
        let line = self.line();
        line.prompt.len() + line.batch.len()
    }

    /// Whether a writer holds the turn (tests).
    #[cfg(test)]
    pub fn is_held(&self) -> bool {
        self.line().held
    }

    fn line(&self) -> MutexGuard<'_, Line> {
        // Nothing panics while the line is locked; a poisoned lock's line is still whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the turn to the next writer still waiting, or frees it.
    fn hand_on(&self) {
        let mut line = self.line();
        loop {
            let next = if line.batch.is_empty() {
                line.prompt_in_a_row = 0;
                line.prompt.pop_front()
            } else if line.prompt_in_a_row < PROMPT_IN_A_ROW && !line.prompt.is_empty() {
                line.prompt_in_a_row += 1;
                line.prompt.pop_front()
            } else {
                line.prompt_in_a_row = 0;
                line.batch.pop_front()
            };
            match next {
                None => {
                    line.held = false;
                    return;
                }
                // A writer that gave up its place has dropped its receiver: the turn goes to the one after.
                Some(hand) => {
                    if hand.send(()).is_ok() {
                        return;
                    }
                }
            }
        }
    }
}

/// The turn, held until dropped.
#[derive(Debug)]
pub struct Turn(Arc<TurnQueue>);

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.hand_on();
    }
}

/// A place in the line; if it is dropped after the turn was handed to it, the turn goes on to the next.
struct Waiting {
    queue: Arc<TurnQueue>,
    handed: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut handed) = self.handed.take() {
            handed.close();
            if handed.try_recv().is_ok() {
                self.queue.hand_on();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;
    use std::time::Duration;

    use super::*;

    /// Queues `class` writers named `names` behind the held turn, in that order; each notes its name in
    /// `order` when its turn comes and gives it back at once.
    fn queue_up(
        queue: &Arc<TurnQueue>,
        order: &Arc<Mutex<Vec<String>>>,
        class: WriteClass,
        names: &[&str],
    ) -> Vec<tokio::task::JoinHandle<()>> {
        names
            .iter()
            .map(|name| {
                let (queue, order, name) = (Arc::clone(queue), Arc::clone(order), (*name).to_owned());
                tokio::spawn(async move {
                    let _turn = queue.take(class).await;
                    order.lock().expect("order").push(name);
                })
            })
            .collect()
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn prompt_writers_go_before_batches_that_came_first_and_each_part_keeps_its_order() {
        let queue = Arc::new(TurnQueue::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = queue.take(WriteClass::Batch).await;
        let mut tasks = Vec::new();
        for (class, name) in [
            (WriteClass::Batch, "batch 1"),
            (WriteClass::Batch, "batch 2"),
            (WriteClass::Prompt, "edit 1"),
            (WriteClass::Batch, "batch 3"),
            (WriteClass::Prompt, "edit 2"),
        ] {
            tasks.extend(queue_up(&queue, &order, class, &[name]));
            settle().await;
        }
        assert!(order.lock().expect("order").is_empty(), "nobody goes while the turn is held");
        drop(first);
        for task in tasks {
            task.await.expect("a writer");
        }
        let order = order.lock().expect("order").clone();
        assert_eq!(order, ["edit 1", "edit 2", "batch 1", "batch 2", "batch 3"]);
        assert!(!queue.is_held(), "the last one freed the turn");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_batch_goes_after_a_run_of_prompt_writers_however_many_wait() {
        let queue = Arc::new(TurnQueue::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = queue.take(WriteClass::Prompt).await;
        let mut tasks = queue_up(&queue, &order, WriteClass::Batch, &["batch"]);
        settle().await;
        let edits: Vec<String> = (1..=12).map(|n| format!("edit {n}")).collect();
        let edits: Vec<&str> = edits.iter().map(String::as_str).collect();
        tasks.extend(queue_up(&queue, &order, WriteClass::Prompt, &edits));
        settle().await;
        drop(first);
        for task in tasks {
            task.await.expect("a writer");
        }
        let order = order.lock().expect("order").clone();
        let at = order.iter().position(|name| name == "batch").expect("the batch went");
        assert_eq!(at, PROMPT_IN_A_ROW as usize, "after {PROMPT_IN_A_ROW} edits in a row: {order:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_writer_that_gives_up_its_place_or_its_handed_turn_never_keeps_the_turn() {
        let queue = Arc::new(TurnQueue::default());
        let first = queue.take(WriteClass::Batch).await;
        // One gives up while waiting (as on `TURN_WAIT`'s timeout).
        let gave_up = tokio::time::timeout(Duration::from_millis(1), queue.take(WriteClass::Prompt)).await;
        assert!(gave_up.is_err(), "the turn was held");
        // One is handed the turn but dropped before it looks.
        let mut handed = Box::pin(queue.take(WriteClass::Prompt));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(handed.as_mut().poll(&mut cx).is_pending(), "it waits in the line");
        let order = Arc::new(Mutex::new(Vec::new()));
        let last = queue_up(&queue, &order, WriteClass::Batch, &["last"]);
        settle().await;
        drop(first);
        drop(handed);
        for task in last {
            tokio::time::timeout(Duration::from_secs(5), task).await.expect("the turn came").expect("a writer");
        }
        assert_eq!(*order.lock().expect("order"), ["last"]);
        assert!(!queue.is_held());
    }
}
