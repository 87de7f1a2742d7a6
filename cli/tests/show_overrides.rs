//! `labbook show` says which config keys a run's launch overrode and why its loop stopped
//! early, from `info.json`.

#[path = "cli/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use fixture::{Fixture, RunSpec};
use serde_json::json;

#[test]
fn show_prints_the_early_stop_and_the_overridden_keys() {
    let f = Fixture::new();
    let dir = f.run(RunSpec::new("mnist", 1, "COMPLETE").config(json!({"lr": 0.01, "epochs": 2})));
    let info_file = dir.join("metadata/info.json");
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_file).unwrap()).unwrap();
    info["overrides"] = json!({
        "epochs": {"value": "2", "source": "--set"},
        "lr": {"value": "0.01", "source": "LABBOOK_SET"},
    });
    info["stopped_early"] = json!({
        "step": 7, "metric": "test_acc", "best": 0.98, "best_step": 4,
        "reason": "`test_acc` did not improve on its max of 0.98 (step 4) in 3 evaluations",
    });
    fixture::write_json(&info_file, &info);
    let shown = f.labbook(&["show", "mnist/1"]).ok();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines.contains(&"stopped    early at step 7: `test_acc` did not improve on its max of 0.98 (step 4) in 3 evaluations"),
        "{shown}"
    );
    assert!(
        lines.contains(&"overrides  epochs=2 (--set), lr=0.01 (LABBOOK_SET)"),
        "{shown}"
    );
}
