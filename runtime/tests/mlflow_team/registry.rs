//! `labbook register` (`mlflow::register`) in both layouts: the newest checkpoint of a
//! `team-registry` run registered twice makes one model version, read back with MLflow's client
//! (`get_model_version`, `search_model_versions`), its file downloaded from the version's
//! source: through the artifact proxy (`mlflow-artifacts:/…`) or from S3 (`s3://…`).

use std::path::{Path, PathBuf};

use labbook::backends::mlflow;
use labbook::{experiment, run};
use serde_json::json;

use super::{env, services, state, verify};
use crate::support::info;

/// A run with a metric and a checkpoint, in an experiment of its own: the layout tests
/// count the runs of theirs.
#[experiment(name = "team-registry")]
fn registry_run() -> PathBuf {
    #[log(metric, name = "eval/acc", step = 2999)]
    0.5;
    #[log(checkpoint, name = "model", step = 3)]
    &vec![1, 2, 3];
    run().dir().unwrap().to_owned()
}

/// Registers the newest checkpoint of the `team-registry` run in `dir` twice on the server of
/// `layout`: one version, read back with MLflow's client, its file downloaded from its
/// source. Returns the source.
fn registered_once(layout: &str, dir: &Path) -> String {
    let uri = services().uri(layout);
    let settings = mlflow::Settings::for_uri(&uri).unwrap();
    let model = format!("team-model-{layout}");
    let register = || mlflow::register(dir, &settings, &model, mlflow::Choice::Last, None);
    let first = register().unwrap();
    let again = register().unwrap();
    assert!(first.created && !again.created, "{first}\n{again}");
    assert_eq!(again.version.version, first.version.version);
    let checkpoint = "checkpoints/model/step-0000000003.json";
    let run_id = state(dir)["run_id"].as_str().unwrap().to_owned();
    let text = verify(
        "mlflow_registry_check.py",
        &[&uri],
        &json!({
            "model": model,
            "versions": 1,
            "check": [{
                "version": first.version.version,
                "run_id": run_id,
                "source": first.version.source,
                "tags": {
                    "labbook.run": format!("team-registry/{}", info(dir).id),
                    "labbook.checkpoint": checkpoint,
                    "labbook.checkpoint.step": "3",
                    "metric.eval/acc": "0.5",
                },
                "content": std::fs::read_to_string(dir.join(checkpoint)).unwrap(),
            }],
        }),
    );
    assert!(text.contains("mlflow_registry_check: OK"), "{text}");
    assert!(
        first
            .version
            .source
            .ends_with(&format!("/{run_id}/artifacts/{checkpoint}")),
        "{}",
        first.version.source
    );
    first.version.source
}

#[test]
fn a_checkpoint_is_registered_once_through_the_artifact_proxy() {
    let uri = services().uri("proxied");
    let _env = env(&uri);
    let dir = registry_run();
    let source = registered_once("proxied", &dir);
    assert!(source.starts_with("mlflow-artifacts:/"), "{source}");
}

#[test]
fn a_checkpoint_is_registered_once_from_the_object_store() {
    let uri = services().uri("direct");
    let _env = env(&uri);
    let dir = registry_run();
    let source = registered_once("direct", &dir);
    assert!(source.starts_with("s3://labbook/direct/"), "{source}");
}
