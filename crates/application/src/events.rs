//! The live event stream: one reader of the change log per process fans every committed
//! change out to the open streams of the users who may see it, and keeps each user's
//! newest change in memory for the collection ETags.
//!
//! A stream resumes from a cursor with no gap and no duplicate: it subscribes to the
//! fan-out first, reads what it missed from the log up to the hub's place, then takes the
//! fan-out, skipping what it already sent. A stream that falls behind the fan-out catches
//! up from the log the same way. The log is the truth; the fan-out only saves reads.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use todo_domain::{ChangeCursor, ChangeRecord, Principal, UserId, policy};
use tokio::sync::{broadcast, watch};

use crate::error::ApplicationError;
use crate::ports::{ChangeLog, ChangeSignal};

/// Records and the members of their lists, as one read of the log found them.
pub type Batch = Vec<(ChangeRecord, Vec<UserId>)>;

/// Limits and timings of the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// A comment line this often keeps proxies from closing an idle stream.
    pub heartbeat: Duration,
    /// A stream's credential is checked again this often (the credential cache's time to
    /// live): a revoked or expired one ends its stream.
    pub recheck: Duration,
    /// Open streams per user; beyond, 429.
    pub max_streams_per_user: u32,
    /// Open streams in this process; beyond, 429.
    pub max_streams: u32,
    /// Records per read of the log.
    pub batch: u32,
    /// The log is read this often even when no write was heard of (a write whose
    /// notification was lost, a transaction that held the readers back).
    pub idle_poll: Duration,
    /// After a read of the log, the reader waits at least this long before the next one:
    /// under load one read serves every write of the interval instead of one read per
    /// write (each event waits at most this much longer).
    pub coalesce: Duration,
    /// Users whose newest change is remembered for the ETags; beyond, the memory starts
    /// over (every ETag changes once).
    pub max_marks: usize,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(15),
            recheck: Duration::from_secs(5),
            max_streams_per_user: 10,
            max_streams: 10_000,
            batch: 500,
            idle_poll: Duration::from_secs(1),
            coalesce: Duration::from_millis(10),
            max_marks: 100_000,
        }
    }
}

/// What a stream hands its client next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Event(ChangeRecord),
    /// The client's cursor is older than the log keeps: resync through the sync feed,
    /// then resume from this place.
    Reset(ChangeCursor),
    /// The service is shutting down.
    Closed,
}

/// Counters of the event stream, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStats {
    pub open_streams: u64,
    pub events_sent: u64,
    /// Records read from the log since start.
    pub records_read: u64,
    /// Milliseconds between the newest record's commit time and its read, as last seen.
    pub lag_ms: u64,
}

struct State {
    /// The place up to which the hub has read and fanned out.
    position: ChangeCursor,
    /// Each user's newest visible change seen since `floor` was set.
    marks: HashMap<UserId, ChangeCursor>,
    /// The mark of a user not in `marks`: no change of theirs came after it.
    floor: ChangeCursor,
    /// Whether the last read of the log succeeded (marks are only trusted then).
    healthy: bool,
    streams: HashMap<UserId, u32>,
    open: u32,
    stats: EventStats,
}

struct Inner {
    log: Arc<dyn ChangeLog>,
    settings: EventSettings,
    fanout: broadcast::Sender<Arc<Batch>>,
    state: Mutex<State>,
    closed: watch::Sender<bool>,
}

/// The process's reader of the change log and its open streams. Cheap to clone.
#[derive(Clone)]
pub struct EventHub {
    inner: Arc<Inner>,
}

impl EventHub {
    /// A hub that starts at the log's current head.
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn start(
        log: Arc<dyn ChangeLog>,
        settings: EventSettings,
    ) -> Result<Self, ApplicationError> {
        let head = log.head().await?;
        let (fanout, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                settings,
                fanout,
                state: Mutex::new(State {
                    position: head,
                    marks: HashMap::new(),
                    floor: head,
                    healthy: true,
                    streams: HashMap::new(),
                    open: 0,
                    stats: EventStats::default(),
                }),
                closed: watch::Sender::new(false),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[must_use]
    pub fn settings(&self) -> &EventSettings {
        &self.inner.settings
    }

    /// The place up to which the hub has read.
    #[must_use]
    pub fn position(&self) -> ChangeCursor {
        self.state().position
    }

    #[must_use]
    pub fn stats(&self) -> EventStats {
        let state = self.state();
        EventStats {
            open_streams: u64::from(state.open),
            ..state.stats
        }
    }

    /// `user`'s newest change as far as this process has read, when it can be trusted
    /// (the last read of the log succeeded): what a collection ETag is made of. `None`
    /// when it cannot.
    #[must_use]
    pub fn mark(&self, user: &UserId) -> Option<ChangeCursor> {
        let state = self.state();
        state
            .healthy
            .then(|| state.marks.get(user).copied().unwrap_or(state.floor))
    }

    /// What a collection of `reader`'s, as `principal` asks for it, was built from: their
    /// newest change as this process has read it ([`EventHub::mark`]), taken *before* the
    /// collection is read, so that a change the read may include and the mark not yet
    /// makes the next poll a 200 rather than a stale 304. `None` when it cannot be trusted.
    ///
    /// # Errors
    /// `Forbidden` when `principal` does not act for `reader`.
    pub fn collection_mark(
        &self,
        principal: &Principal,
        reader: &UserId,
    ) -> Result<Option<ChangeCursor>, ApplicationError> {
        policy::ensure_acts_for(principal, reader)?;
        Ok(self.mark(reader))
    }

    /// Reads everything new in the log and fans it out: how many records.
    ///
    /// # Errors
    /// When the log cannot be read (the hub's marks are not trusted until it can).
    pub async fn poll(&self, now: todo_domain::Timestamp) -> Result<usize, ApplicationError> {
        let mut total = 0;
        loop {
            let after = self.position();
            let read = match self.inner.log.read(after, self.inner.settings.batch).await {
                Ok(read) => read,
                Err(err) => {
                    self.state().healthy = false;
                    return Err(err.into());
                }
            };
            let n = read.records.len();
            total += n;
            let mut state = self.state();
            state.healthy = true;
            let Some((last, _)) = read.records.last() else {
                return Ok(total);
            };
            // Read from `after`: a concurrent poll may have moved the place meanwhile.
            if state.position != after {
                continue;
            }
            state.position = last.cursor;
            state.stats.records_read += n as u64;
            state.stats.lag_ms = u64::try_from((now - last.at).num_milliseconds()).unwrap_or(0);
            if state.marks.len() > self.inner.settings.max_marks {
                state.marks.clear();
                state.floor = last.cursor;
            }
            for (record, readers) in &read.records {
                for reader in readers.iter().chain(record.subject.iter()) {
                    state.marks.insert(reader.clone(), record.cursor);
                }
            }
            // Under the lock: a stream subscribing sees either the old place and this
            // batch, or the new place and not this batch.
            let _ = self.inner.fanout.send(Arc::new(read.records));
            drop(state);
            if n < self.inner.settings.batch as usize {
                return Ok(total);
            }
        }
    }

    /// Reads the log whenever `signal` hears of a write, and every `idle_poll` besides,
    /// until [`EventHub::close`]. A failed read is logged and retried.
    pub async fn run(self, signal: Arc<dyn ChangeSignal>, clock: Arc<dyn crate::ports::Clock>) {
        let mut closed = self.inner.closed.subscribe();
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.poll(clock.now()).await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(err) => {
                    tracing::warn!(error = %err, "reading the change log failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = closed.wait_for(|c| *c) => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.inner.settings.coalesce) => {}
                _ = closed.wait_for(|c| *c) => return,
            }
            tokio::select! {
                () = signal.written() => {}
                () = tokio::time::sleep(self.inner.settings.idle_poll) => {}
                _ = closed.wait_for(|c| *c) => return,
            }
        }
    }

    /// Deletes the records older than `before` from the log: how many.
    ///
    /// # Errors
    /// When the log cannot be written.
    pub async fn prune(&self, before: todo_domain::Timestamp) -> Result<u64, ApplicationError> {
        Ok(self.inner.log.prune(before).await?)
    }

    /// Ends every stream (their next delivery is [`Delivery::Closed`]) and the reader.
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// A stream of what `reader` may see, for `principal` acting as them, from `after`
    /// (the last event the client has) or from now.
    ///
    /// # Errors
    /// `Forbidden` when `principal` does not act for `reader`; `TooMany` when `reader` has
    /// the most streams allowed open, or the process has.
    pub fn subscribe(
        &self,
        principal: &Principal,
        reader: &UserId,
        after: Option<ChangeCursor>,
    ) -> Result<Subscription, ApplicationError> {
        policy::ensure_acts_for(principal, reader)?;
        let settings = &self.inner.settings;
        let mut state = self.state();
        let mine = state.streams.get(reader).copied().unwrap_or(0);
        if mine >= settings.max_streams_per_user {
            return Err(ApplicationError::TooMany {
                detail: format!(
                    "at most {} event streams may be open per user",
                    settings.max_streams_per_user
                ),
                retry_after_secs: 5,
            });
        }
        if state.open >= settings.max_streams {
            return Err(ApplicationError::TooMany {
                detail: "the service has as many event streams open as it allows".to_owned(),
                retry_after_secs: 5,
            });
        }
        *state.streams.entry(reader.clone()).or_insert(0) += 1;
        state.open += 1;
        let position = state.position;
        let fanout = self.inner.fanout.subscribe();
        drop(state);
        Ok(Subscription {
            hub: self.clone(),
            reader: reader.clone(),
            last: after.unwrap_or(position),
            catch_up: after.is_some(),
            fanout,
            closed: self.inner.closed.subscribe(),
            pending: VecDeque::new(),
        })
    }

    fn release(&self, reader: &UserId) {
        let mut state = self.state();
        if let Some(n) = state.streams.get_mut(reader) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                state.streams.remove(reader);
            }
        }
        state.open = state.open.saturating_sub(1);
    }
}

/// One open stream of one reader. Dropping it frees its place.
pub struct Subscription {
    hub: EventHub,
    reader: UserId,
    /// The place of the last record this stream has passed (sent or not the reader's).
    last: ChangeCursor,
    /// Whether to read from the log what came after `last` before taking the fan-out.
    catch_up: bool,
    fanout: broadcast::Receiver<Arc<Batch>>,
    closed: watch::Receiver<bool>,
    pending: VecDeque<ChangeRecord>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.release(&self.reader);
    }
}

impl Subscription {
    #[must_use]
    pub fn reader(&self) -> &UserId {
        &self.reader
    }

    /// The place of the last record passed: the `id` of a heartbeat-only stream.
    #[must_use]
    pub fn last(&self) -> ChangeCursor {
        self.last
    }

    /// The next thing to send.
    ///
    /// # Errors
    /// When the log cannot be read while catching up.
    pub async fn next(&mut self) -> Result<Delivery, ApplicationError> {
        loop {
            if *self.closed.borrow() {
                return Ok(Delivery::Closed);
            }
            if let Some(record) = self.pending.pop_front() {
                self.hub.state().stats.events_sent += 1;
                return Ok(Delivery::Event(record));
            }
            if self.catch_up {
                if let Some(reset) = self.read_missed().await? {
                    return Ok(reset);
                }
                continue;
            }
            let received = tokio::select! {
                received = self.fanout.recv() => received,
                _ = self.closed.wait_for(|c| *c) => return Ok(Delivery::Closed),
            };
            match received {
                Ok(batch) => {
                    for (record, readers) in batch.iter() {
                        if record.cursor <= self.last {
                            continue;
                        }
                        self.last = record.cursor;
                        if record.visible_to(&self.reader, readers.contains(&self.reader)) {
                            self.pending.push_back(record.clone());
                        }
                    }
                }
                // Fell behind the fan-out: what it dropped is still in the log.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up = true,
                Err(broadcast::error::RecvError::Closed) => return Ok(Delivery::Closed),
            }
        }
    }

    /// Reads from the log what came after `last`, up to the hub's place; a reset when
    /// that is older than the log keeps.
    async fn read_missed(&mut self) -> Result<Option<Delivery>, ApplicationError> {
        let up_to = self.hub.position();
        let pruned = self.hub.inner.log.pruned().await?;
        if self.last > up_to {
            // Ahead of this process: another replica's cursor (it read a moment sooner),
            // taken from the fan-out once this one passes it; or no place the log ever
            // had, told as a reset.
            self.catch_up = false;
            if self.last > self.hub.inner.log.head().await? {
                self.last = up_to;
                return Ok(Some(Delivery::Reset(up_to)));
            }
            return Ok(None);
        }
        if self.last < pruned {
            self.catch_up = false;
            self.last = up_to;
            return Ok(Some(Delivery::Reset(up_to)));
        }
        if self.last == up_to {
            self.catch_up = false;
            return Ok(None);
        }
        let batch = self.hub.inner.settings.batch;
        let records = self
            .hub
            .inner
            .log
            .read_for(&self.reader, self.last, up_to, batch)
            .await?;
        let full = records.len() >= batch as usize;
        match records.last() {
            Some(last) if full => self.last = last.cursor,
            _ => {
                self.last = up_to;
                self.catch_up = false;
            }
        }
        self.pending.extend(records);
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
