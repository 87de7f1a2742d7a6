use labbook::prelude::*;

fn evaluate(step: u64) -> labbook::Result<f64> {
    let accuracy = 0.9;
    labbook::run().log_metric("eval/accuracy", step, accuracy)?;
    run().log_text("eval/note", step, format!("step {step}"))?;
    Ok(accuracy)
}

#[experiment]
fn train() -> labbook::Result<f64> {
    let mut last = 0.0;
    for step in 0..3 {
        last = evaluate(step)?;
    }
    Ok(last)
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-helper-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train().unwrap(), 0.9);
    assert!(labbook::run().log_metric("late", 0, 1.0).is_err());
    std::fs::remove_dir_all(&root).unwrap();
}
