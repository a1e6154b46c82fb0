//! One scenario, two stores: each state-changing property is proved on the embedded store
//! and on DynamoDB (moto, with KMS-sealed signing keys), through the same handlers.

/// `on_both_stores!(name, scenario)` defines `name::embedded` and `name::dynamodb`, each
/// running `scenario(System)` to the end.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn embedded() {
                super::$scenario($crate::System::embedded().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamodb() {
                super::$scenario($crate::System::dynamodb().await).await;
            }
        }
    };
}
