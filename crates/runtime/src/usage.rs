//! What the runtime measures for the plans' quotas: the records an organization's apps hold
//! and the bytes of their files. Calls are counted as they come (`context::resolve`),
//! records and files as they are written; this probe re-measures them now and then.

use collections::model::CollectionType;
use kernel::module::BoxFuture;
use kernel::{Metric, Result, args};

use crate::RuntimeState;

pub struct AppsProbe(pub RuntimeState);

impl kernel::usage::UsageProbe for AppsProbe {
    fn measure<'a>(&'a self, org: &'a str) -> BoxFuture<'a, Result<Vec<(Metric, i64)>>> {
        Box::pin(async move {
            let state = &self.0;
            let apps: Vec<(String, Option<i64>)> = state
                .db
                .fetch_all("SELECT id, current_deployment FROM runtime_apps WHERE organization_id = $1", args![org])
                .await?;
            let (mut records, mut bytes, apps_count) = (0i64, 0u64, apps.len() as i64);
            for (app, deployment) in apps {
                if let Some(deployment) = deployment {
                    let schema = state.schema(&app, deployment).await?;
                    for c in schema.collections.iter().filter(|c| c.kind != CollectionType::View) {
                        let sql = format!("SELECT COUNT(*) FROM {}", schema.ns.table(&c.name));
                        records += state.db.count(sqlx::AssertSqlSafe(sql), vec![]).await?;
                    }
                }
                bytes += state.store.bytes_under(&format!("{app}/")).await.map_err(kernel::Error::from)?;
            }
            Ok(vec![(Metric::Records, records), (Metric::StorageBytes, bytes as i64), (Metric::Apps, apps_count)])
        })
    }
}
