//! Paging rules for audit queries, shared by both stores: newest first, `[from, to)`, expired
//! records skipped, and a cursor only when another record really follows.

use crate::domain::{AuditEvent, AuditPage, AuditQuery, PageCursor, Timestamp};
use crate::ports::{StoreError, StoreResult};

/// The page covers records at or after `from` and strictly before the position `below`
/// (time, event id): either the query's `to` or the cursor of the previous page.
pub(crate) struct PageBounds {
    pub from: Timestamp,
    pub below: (Timestamp, String),
}

pub(crate) fn page_bounds(query: &AuditQuery) -> StoreResult<PageBounds> {
    if query.limit == 0 || query.limit > AuditQuery::MAX_LIMIT {
        return Err(StoreError::InvalidRequest(format!(
            "audit page size must be 1 to {}",
            AuditQuery::MAX_LIMIT
        )));
    }
    let below = match &query.cursor {
        Some(cursor) => {
            let (at, id) = cursor
                .position()
                .map_err(|e| StoreError::InvalidRequest(e.to_string()))?;
            (
                at.min(query.to),
                if at < query.to {
                    id.to_string()
                } else {
                    String::new()
                },
            )
        }
        // Every id sorts after "", so (to, "") excludes everything at `to` itself.
        None => (query.to, String::new()),
    };
    Ok(PageBounds {
        from: query.from,
        below,
    })
}

/// Collects up to `limit` live records, reading one more to know whether a next page exists.
pub(crate) struct PageCollector {
    limit: usize,
    now: Timestamp,
    events: Vec<AuditEvent>,
    more: bool,
}

impl PageCollector {
    pub fn new(limit: usize, now: Timestamp) -> Self {
        PageCollector {
            limit,
            now,
            events: Vec::new(),
            more: false,
        }
    }

    /// Adds a record (newest first); true once the page is full and one more was seen.
    pub fn push(&mut self, event: AuditEvent) -> bool {
        if event.expires_at.has_passed(self.now) {
            return false;
        }
        if self.events.len() == self.limit {
            self.more = true;
            return true;
        }
        self.events.push(event);
        false
    }

    pub fn finish(self) -> AuditPage {
        let next = match (self.more, self.events.last()) {
            (true, Some(last)) => Some(PageCursor::after(last.at, &last.id)),
            _ => None,
        };
        AuditPage {
            events: self.events,
            next,
        }
    }
}
