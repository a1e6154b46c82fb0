//! The time of the AWS service the CLI works on. Every instant the CLI writes is compared
//! with instants the Lambda functions write (their clocks are NTP-synchronised): a user cut
//! against session and token times, a revocation entry against the authorizer's poll window,
//! a key's `signs_from` against token issuance. An operator's machine may be off by minutes;
//! then a cut would leave recent credentials alive, or void new ones, and an entry could fall
//! behind the authorizer's poll window. So the CLI reads DynamoDB's clock (the HTTP `Date` of
//! one response) and writes in service time when its own clock is clearly off.

use aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::{Arc, Mutex};
use xecure::domain::Timestamp;
use xecure::ports::{Clock, SystemClock};

/// Below this the machine clock is trusted: a `Date` header has whole seconds, and the
/// round trip adds its own uncertainty.
const TRUSTED_SKEW_MS: i64 = 2_000;

/// The machine's clock shifted by the measured skew.
pub struct ServiceClock {
    offset_ms: i64,
}

impl Clock for ServiceClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis() + self.offset_ms)
    }
}

impl ServiceClock {
    /// Measures the skew with one cheap call (`ListTables`, limit 1). Any answer of the service
    /// carries its clock, a refusal (no permission to list tables) too; no answer, or no
    /// usable `Date`, leaves the machine clock as it is.
    pub async fn measured(client: &aws_sdk_dynamodb::Client) -> (ServiceClock, Option<i64>) {
        let seen = ServerDate::default();
        let sent = SystemClock.now().as_millis();
        let _answer = client
            .list_tables()
            .limit(1)
            .customize()
            .interceptor(seen.clone())
            .send()
            .await;
        let received = SystemClock.now().as_millis();
        let skew = seen.millis().map(|server| server - (sent + received) / 2);
        let offset_ms = skew
            .filter(|skew| skew.abs() > TRUSTED_SKEW_MS)
            .unwrap_or(0);
        (ServiceClock { offset_ms }, skew)
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }
}

/// Keeps the `Date` of the response it sees, in epoch milliseconds.
#[derive(Debug, Clone, Default)]
struct ServerDate(Arc<Mutex<Option<i64>>>);

impl ServerDate {
    fn millis(&self) -> Option<i64> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "xecure-server-date"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let date = context.response().headers().get("date").and_then(|raw| {
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc2822).ok()
        });
        if let Some(date) = date {
            let millis = i64::try_from(date.unix_timestamp_nanos() / 1_000_000).ok();
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = millis;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A DynamoDB endpoint on loopback whose clock says `date`: answers one ListTables.
    async fn endpoint_dated(date: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut request).await;
            let body = r#"{"TableNames":[]}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn a_machine_clock_far_from_the_services_is_replaced_by_it() {
        let endpoint = endpoint_dated("Sun, 01 Dec 2041 12:00:00 GMT").await;
        let config = xecure::testing::moto::sdk_config_for(&endpoint);
        let (clock, skew) = ServiceClock::measured(&aws_sdk_dynamodb::Client::new(&config)).await;
        assert!(skew.is_some_and(|skew| skew > 365 * 24 * 3600 * 1000));
        let service_now = clock.now().as_secs();
        assert!(
            (service_now - 2_269_512_000).abs() < 60,
            "written in the service's time: {service_now}"
        );
    }

    #[tokio::test]
    async fn a_service_that_cannot_be_asked_leaves_the_machine_clock() {
        let config = xecure::testing::moto::sdk_config_for("http://127.0.0.1:9");
        let (clock, skew) = ServiceClock::measured(&aws_sdk_dynamodb::Client::new(&config)).await;
        assert_eq!((skew, clock.offset_ms()), (None, 0));
    }

    #[test]
    fn http_dates_parse_as_rfc_2822() {
        // RFC 9110 section 5.6.7 IMF-fixdate, as DynamoDB sends it.
        let date = time::OffsetDateTime::parse(
            "Wed, 02 Dec 2026 09:38:09 GMT",
            &time::format_description::well_known::Rfc2822,
        )
        .unwrap();
        assert_eq!(date.unix_timestamp(), 1_796_204_289);
    }
}
